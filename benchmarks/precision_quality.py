"""Does `precision: bf16` change DTP's results more than the seed does? Real pairs, fp32 with three
seeds against bf16, the metrics of the tables side by side.

    python benchmarks/precision_quality.py                  # dpst-1 celeb-0 ffhq-0, 128x128, 300 iterations
    python benchmarks/precision_quality.py --only dpst-1 --iterations 100
    python benchmarks/precision_quality.py --precision fp32 # the fp32 seed spread alone
    python benchmarks/precision_quality.py --only celeb-0 --precision bf16 --bf16-seeds 1006 1007
    python benchmarks/precision_quality.py --table-only     # the verdict again from the CSV

Each run appends one row to benchmarks/out/precision_quality.csv (pair, precision, seed, metrics,
s/iteration, the sidecar's `numerics` and CPU) as soon as it finishes, and a rerun skips the rows
that are there, so a long measurement survives an interruption. The verdict, per pair and metric:
the fp32 seed-to-seed spread (max - min over the seeds) beside |bf16 - fp32| at the same seed; bf16
is "inside" where its difference is no larger than that spread. Image to image as well: SSIM
between bf16 and fp32 at the same seed beside the lowest SSIM between two fp32 seeds.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.convergence import BENCHMARK_PAIRS, METRICS, SHARED  # noqa: E402
from dtp_core import trainer  # noqa: E402
from dtp_core.config import DTPConfig  # noqa: E402
from dtp_core.images import load_pair, save_png, load_image, to_tensor  # noqa: E402
from dtp_bench.metrics.scorer import Scorer  # noqa: E402
from dtp_bench.metrics.ssim import SSIMConvention, ssim  # noqa: E402

OUT = REPO / "benchmarks" / "out"
CSV = OUT / "precision_quality.csv"
SEEDS = (1006, 1007, 1008)
FIELDS = ("pair", "precision", "seed", "size", "iterations", *METRICS, "seconds_per_iteration", "numerics", "cpu")


def runs_wanted(pairs, seeds, precisions=("fp32", "bf16"), bf16_seeds=None):
    """fp32 at every seed, bf16 at the first (or at `bf16_seeds`, some of the fp32 seeds): the
    spread, and the difference at each bf16 seed."""
    runs = ([(pair, "fp32", seed) for pair in pairs for seed in seeds]
            + [(pair, "bf16", seed) for pair in pairs for seed in (bf16_seeds or seeds[:1])])
    return [run for run in runs if run[1] in precisions]


def image_path(pair, precision, seed, size, iterations) -> Path:
    return OUT / "precision_quality" / f"{pair}_{precision}_{seed}_{size}_{iterations}.png"


def measure(args) -> None:
    done = set()
    if CSV.exists():
        with CSV.open() as handle:
            done = {(r["pair"], r["precision"], int(r["seed"]), int(r["size"]), int(r["iterations"]))
                    for r in csv.DictReader(handle)}
    scorer = Scorer({"enabled": list(METRICS)})
    for pair, precision, seed in runs_wanted(args.only, SEEDS, args.precision, args.bf16_seeds):
        if (pair, precision, seed, args.size, args.iterations) in done:
            continue
        content, style = load_pair(*(SHARED / p for p in BENCHMARK_PAIRS[pair]), size=args.size)
        config = DTPConfig(size=args.size, iterations=args.iterations, snapshots=(), precision=precision)
        result = trainer.stylize(content, style, config=config, device="cpu", seed=seed, progress=False)
        scores = scorer.score(result.image, content, style)
        image = image_path(pair, precision, seed, args.size, args.iterations)
        image.parent.mkdir(parents=True, exist_ok=True)
        save_png(image, result.image)  # for the image-to-image comparison (benchmark pairs: not committed)
        row = {"pair": pair, "precision": precision, "seed": seed, "size": args.size, "iterations": args.iterations,
               **{m: scores[m]["value"] for m in METRICS},
               "seconds_per_iteration": result.facts["seconds_per_iteration"],
               "numerics": result.facts["numerics"], "cpu": result.facts["cpu"]}
        new = not CSV.exists()
        with CSV.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(f"{pair} {precision} seed {seed}: {result.facts['seconds_per_iteration']:.2f} s/iter, "
              + ", ".join(f"{m} {row[m]:.4f}" for m in METRICS), flush=True)


def verdict(size: int, iterations: int) -> None:
    with CSV.open() as handle:
        rows = [r for r in csv.DictReader(handle) if (int(r["size"]), int(r["iterations"])) == (size, iterations)]
    print(f"## bf16 against fp32's seed-to-seed spread ({size}x{size}, {iterations} iterations; {rows[0]['cpu']})\n")
    print("| pair | metric | fp32 over seeds (min .. max) | spread | bf16 (its seed) | abs(bf16 - fp32, same seed) | inside |")
    print("|---|---|---|---|---|---|---|")
    convention = SSIMConvention()
    for pair in dict.fromkeys(r["pair"] for r in rows):
        fp32 = {int(r["seed"]): r for r in rows if r["pair"] == pair and r["precision"] == "fp32"}
        bf16_rows = [r for r in rows if r["pair"] == pair and r["precision"] == "bf16" and int(r["seed"]) in fp32]
        if len(fp32) < 2 or not bf16_rows:
            continue
        # What bf16 is held against, the same for each of its seeds: read and compared once.
        fp32_values = {metric: [float(r[metric]) for r in fp32.values()] for metric in METRICS}
        image = lambda precision, seed: to_tensor(load_image(image_path(pair, precision, seed, size, iterations)))
        fp32_images = {seed: image("fp32", seed) for seed in fp32}
        seed_pairs = [ssim(fp32_images[a], fp32_images[b], convention).item()
                      for a, b in itertools.combinations(fp32_images, 2)]
        for bf16 in bf16_rows:
            seed = int(bf16["seed"])
            for metric, values in fp32_values.items():
                spread, difference = max(values) - min(values), abs(float(bf16[metric]) - float(fp32[seed][metric]))
                print(f"| {pair} | {metric} | {min(values):.4f} .. {max(values):.4f} | {spread:.4f} | "
                      f"{float(bf16[metric]):.4f} ({seed}) | {difference:.4f} | {'yes' if difference <= spread else 'NO'} |")
            same_seed = ssim(image("bf16", seed), fp32_images[seed], convention).item()
            print(f"| {pair} | SSIM image to image | fp32 seed vs seed: {min(seed_pairs):.4f} .. {max(seed_pairs):.4f} | "
                  f"| bf16 vs fp32, seed {seed}: {same_seed:.4f} | | {'yes' if same_seed >= min(seed_pairs) else 'NO'} |")
    speed = {p: [float(r["seconds_per_iteration"]) for r in rows if r["precision"] == p] for p in ("fp32", "bf16")}
    if all(speed.values()):
        print(f"\nmean s/iteration (set-up included): fp32 {sum(speed['fp32']) / len(speed['fp32']):.2f}, "
              f"bf16 {sum(speed['bf16']) / len(speed['bf16']):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--only", nargs="+", default=list(BENCHMARK_PAIRS), choices=list(BENCHMARK_PAIRS))
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                        help="only these runs (e.g. the fp32 spread first, bf16 once its path is settled)")
    parser.add_argument("--bf16-seeds", nargs="+", type=int, choices=SEEDS, metavar="SEED",
                        help=f"bf16 at these of the fp32 seeds {SEEDS} (default: the first): is its difference the seed's?")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        measure(args)
    verdict(args.size, args.iterations)


if __name__ == "__main__":
    main()
