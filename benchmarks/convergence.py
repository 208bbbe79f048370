"""Where does DTP stop improving? Content and style metrics against the iteration, and what the
optional stopping rule (DTPConfig.stop_tolerance) would save and cost.

    python benchmarks/convergence.py                       # 3 pairs, 128x128, 1000 iterations, every 50
    python benchmarks/convergence.py --size 64 --iterations 300 --every 25 --pairs demo
    python benchmarks/convergence.py --iterations 500 --only dpst-1 celeb-0

Writes benchmarks/out/convergence.csv (pair, iteration, metrics), benchmarks/out/convergence_losses.csv
(every iteration's loss terms) and docs/convergence.png, and prints the stopping rule's table: for
each tolerance, the iteration it stops at, the share of the run it saves, and how the metrics at that
point differ from the full run's. `--table-only` prints that table again from the two CSV files.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_core import trainer  # noqa: E402
from dtp_core.config import DTPConfig  # noqa: E402
from dtp_core.images import load_pair, resize, to_tensor  # noqa: E402
from dtp_bench.metrics.scorer import Scorer  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
BENCHMARK_PAIRS = {
    "dpst-1": ("dpst/in/in1.png", "dpst/tar/tar1.png"),
    "celeb-0": ("dtp/input/in_celeb_0.png", "dtp/style/tar_celeb_0.png"),
    "ffhq-0": ("dtp/input/in_ffhq_0.png", "dtp/style/tar_ffhq_0.png"),
}
METRICS = ("ssim", "lpips", "gram", "histogram")


def demo_pairs(size: int) -> dict:
    from skimage import data
    shape = (size, size)
    return {"chelsea-rocket": tuple(to_tensor(resize(i, shape)) for i in (data.chelsea(), data.rocket())),
            "coffee-astronaut": tuple(to_tensor(resize(i, shape)) for i in (data.coffee(), data.astronaut()))}


def run_pair(name, content, style, config, scorer) -> list[dict]:
    result = trainer.stylize(content, style, config=config, device="cpu", progress=False)
    rows = []
    for iteration, image in sorted(result.snapshots.items()):
        scores = scorer.score(image, content, style)
        rows.append({"pair": name, "iteration": iteration, "total_loss": result.losses[iteration]["total"],
                     **{m: scores[m]["value"] for m in METRICS if scores[m]["status"] == "ok"}})
    print(f"{name}: {result.facts['seconds']:.0f} s, {result.facts['seconds_per_iteration']:.2f} s/iter", flush=True)
    return rows, result


TOLERANCES = (0.1, 0.05, 0.02, 0.01)


def stopping_table(losses: dict[str, list[dict]], rows: list[dict], config: DTPConfig, tolerances) -> list[str]:
    """`losses`: pair -> every iteration's loss terms (trainer.LOSS_TERMS); `rows`: the scored snapshots."""
    lines = ["| tolerance | pair | stops at | iterations saved | SSIM change | Gram change | Hist change |",
             "|---|---|---|---|---|---|---|"]
    for tolerance in tolerances:
        rule = config.replace(stop_tolerance=tolerance)
        for name, pair_losses in losses.items():
            history = [torch.tensor([float(row[k]) for k in trainer.LOSS_TERMS]) for row in pair_losses]
            stop = next((i + 1 for i in range(len(history)) if trainer.should_stop(history[: i + 1], rule)), None)
            if stop is None:
                lines.append(f"| {tolerance} | {name} | never | 0 | 0 | 0 | 0 |")
                continue
            mine = [r for r in rows if r["pair"] == name]
            at_stop = min(mine, key=lambda r: abs(r["iteration"] - (stop - 1)))
            final = mine[-1]
            deltas = [at_stop.get(m, float("nan")) - final.get(m, float("nan")) for m in ("ssim", "gram", "histogram")]
            lines.append(f"| {tolerance} | {name} | {stop} | {1 - stop / len(history):.0%} | "
                         + " | ".join(f"{d:+.3f}" for d in deltas) + " |")
    return lines


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS) + 1, figsize=(4 * (len(METRICS) + 1), 3.4))
    for name in dict.fromkeys(r["pair"] for r in rows):
        mine = [r for r in rows if r["pair"] == name]
        for axis, key in zip(axes, ("total_loss", *METRICS)):
            axis.plot([r["iteration"] for r in mine], [r.get(key, float("nan")) for r in mine], marker=".", label=name)
    labels = {"total_loss": "total loss", "ssim": "SSIM vs content (higher)", "lpips": "LPIPS vs content (lower)",
              "gram": "Gram distance vs style (lower)", "histogram": "histogram distance vs style (lower)"}
    for axis, key in zip(axes, ("total_loss", *METRICS)):
        axis.set_title(labels[key], fontsize=10)
        axis.set_xlabel("iteration")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--pairs", choices=["benchmark", "demo"], default="benchmark")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARK_PAIRS), help="a subset of the benchmark pairs")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "convergence.png")
    parser.add_argument("--table-only", action="store_true", help="the stopping table from the last run's CSV files")
    args = parser.parse_args()
    out = REPO / "benchmarks" / "out"
    if args.table_only:
        rows = [{k: (v if k == "pair" else float(v) if v else float("nan")) for k, v in r.items()}
                for r in csv.DictReader(open(out / "convergence.csv"))]
        losses: dict[str, list[dict]] = {}
        for row in csv.DictReader(open(out / "convergence_losses.csv")):
            losses.setdefault(row["pair"], []).append(row)
        print("\n".join(stopping_table(losses, rows, DTPConfig(), TOLERANCES)))
        return 0
    snapshots = tuple(sorted({0, *range(args.every - 1, args.iterations, args.every), args.iterations - 1}))
    config = DTPConfig(size=args.size, iterations=args.iterations, snapshots=snapshots)
    pairs = (demo_pairs(args.size) if args.pairs == "demo" else
             {n: load_pair(SHARED / c, SHARED / s, size=args.size) for n, (c, s) in BENCHMARK_PAIRS.items()
              if not args.only or n in args.only})
    scorer = Scorer({"enabled": list(METRICS)})
    rows, results = [], {}
    for name, (content, style) in pairs.items():
        pair_rows, results[name] = run_pair(name, content, style, config, scorer)
        rows += pair_rows
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "convergence.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["pair", "iteration", "total_loss", *METRICS])
        writer.writeheader()
        writer.writerows(rows)
    losses = {name: result.losses for name, result in results.items()}
    with open(out / "convergence_losses.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["pair", "iteration", *trainer.LOSS_TERMS])
        writer.writeheader()
        writer.writerows({"pair": name, "iteration": i, **{k: row[k] for k in trainer.LOSS_TERMS}}
                         for name, pair_losses in losses.items() for i, row in enumerate(pair_losses))
    plot(rows, args.plot)
    print(f"wrote {out / 'convergence.csv'}, {out / 'convergence_losses.csv'} and {args.plot}")
    print("\n".join(stopping_table(losses, rows, config, TOLERANCES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
