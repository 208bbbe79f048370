"""The seed-to-seed spread of a seeded method on a finished run's pairs, and which of that run's
paired differences seed noise could explain.

    python benchmarks/seed_spread.py results/pilot                  # dtp_lc1_5, seeds 1007 1008, every pair
    python benchmarks/seed_spread.py results/pilot --method sinir --seeds 1007 --threads 1
    python benchmarks/seed_spread.py results/pilot --pairs 1 --seeds 1007
    python benchmarks/seed_spread.py results/pilot --table-only     # the tables again from the files
    python benchmarks/seed_spread.py docs/pilot --bands             # the bands from the committed tables

Every finished output of METHOD in RESULTS/outputs is made again at each other seed by the workflow's
own job code (`stylize_job.run_job` with the sidecar's content, style and job params, the seed
changed; `evaluate_output` with the default metric settings), into
RESULTS/seed_spread/<dataset>/<method>/<pair>.seed<N>.{png,json,metrics.json}; what is there is kept,
so an interrupted measurement resumes. The run's own output counts as its recorded seed. The first
pair is also made again at the recorded seed: a reproduction check (same code, same CPU kind: the
image should come back identical; the table says whether it did). Any method that draws random
numbers can be measured: DTP's variants (the decoder's initialisation, the loss patch positions),
SinIR (its networks' initialisation, its pixel shuffles), STROTSS (its sampled positions).

Printed (Markdown): per dataset and metric, each pair's values over the seeds and their range, and
the pooled seed standard deviation s, which is also kept in RESULTS/seed_spread.csv (one block of
rows per method measured). Then every paired difference from the reference method (the one
table_full.csv pairs with, DTP lambda_c = 1/5) beside the band that seed noise alone gives a
difference of means over n pairs: 1.96 sqrt((s_ref^2 + s_other^2) / n), s_other the other method's
measured spread, or the reference's for a DTP variant not measured (assumed to spread alike), or 0
for any other method not measured: right for those that draw no random numbers (Gatys from the
content image, Reinhard, histogram matching, identity, the warped style, DPST's files), too narrow
for a seeded one (measure it: SinIR, STROTSS).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_bench import methods  # noqa: E402
from dtp_bench.metrics import METRICS  # noqa: E402
from dtp_bench.metrics.evaluate import evaluate_output  # noqa: E402
from dtp_bench.metrics.scorer import Scorer  # noqa: E402
from dtp_bench.stylize_job import run_job  # noqa: E402
from dtp_core.images import load_image  # noqa: E402

SHOWN = ("ssim", "lpips", "gram", "histogram")
REFERENCE = "dtp_lc1_5"  # the method table_full.csv pairs every other with
Z95 = 1.96


def finished_outputs(results: Path, method: str, pairs: int | None) -> list[dict]:
    """The run's ok sidecars of `method`, the first `pairs` of each dataset (pair-list order)."""
    chosen = []
    for dataset_dir in sorted((results / "outputs").iterdir()):
        sidecars = [json.loads(p.read_text()) | {"sidecar": p} for p in sorted((dataset_dir / method).glob("*.json"))]
        ok = [s for s in sidecars if s.get("status") == "ok"]
        chosen += ok[:pairs] if pairs else ok
    if not chosen:
        raise SystemExit(f"seed_spread: no finished output of {method} under {results / 'outputs'}: run the workflow first")
    return chosen


def rerun_path(results: Path, sidecar: dict, seed: int) -> Path:
    return results / "seed_spread" / sidecar["dataset"] / sidecar["method"] / f"{sidecar['pair_id']}.seed{seed}.png"


def measure(results: Path, method: str, seeds: list[int], pairs: int | None) -> None:
    scorer = None
    outputs = finished_outputs(results, method, pairs)
    wanted = [(s, seed) for s in outputs for seed in seeds] + [(outputs[0], outputs[0]["parameters"]["seed"])]
    for sidecar, seed in wanted:
        png = rerun_path(results, sidecar, seed)
        metrics_file = png.with_suffix(".metrics.json")
        if metrics_file.exists():
            continue
        png.parent.mkdir(parents=True, exist_ok=True)
        params = {**sidecar["job_params"], "seed": seed}
        print(f"seed_spread: {sidecar['dataset']}/{method}/{sidecar['pair_id']} seed {seed}", file=sys.stderr, flush=True)
        record = run_job(method, Path(sidecar["content_file"]), Path(sidecar["style_file"]), png, params=params,
                         device="cpu", context={"dataset": sidecar["dataset"], "pair_id": sidecar["pair_id"]},
                         progress=False)
        if record["status"] != "ok":
            raise SystemExit(f"seed_spread: {png}: {record['status']}: {record.get('reason')}")
        scorer = scorer or Scorer(None)
        evaluate_output(png.with_suffix(".json"), metrics_file, scorer)


def _values(metrics_file: Path) -> dict:
    record = json.loads(metrics_file.read_text())
    return {m: record["metrics"][m]["value"] for m in SHOWN if record["metrics"].get(m, {}).get("status") == "ok"}


def collect(results: Path, method: str, pairs: int | None) -> tuple[pd.DataFrame, list[str]]:
    """One row per (dataset, pair, seed) with the metric values; and the reproduction check's lines."""
    rows, checks = [], []
    for sidecar in finished_outputs(results, method, pairs):
        recorded_seed = sidecar["parameters"]["seed"]
        original = results / "metrics" / sidecar["dataset"] / method / f"{sidecar['pair_id']}.json"
        reruns = {int(p.name.split(".seed")[1].split(".")[0]): p
                  for p in rerun_path(results, sidecar, 0).parent.glob(f"{sidecar['pair_id']}.seed*.metrics.json")}
        if recorded_seed in reruns:
            again = load_image(rerun_path(results, sidecar, recorded_seed))
            first = load_image(sidecar["sidecar"].with_suffix(".png"))
            largest = np.abs(again.astype(float) - first.astype(float)).max()
            checks.append(f"{sidecar['dataset']}/{sidecar['pair_id']} made again at seed {recorded_seed}: "
                          + ("identical, pixel for pixel" if largest == 0 else
                             f"differs, largest pixel difference {largest:.4g} (8-bit levels)"))
        runs = {recorded_seed: original} | {s: p for s, p in reruns.items() if s != recorded_seed}
        for seed, metrics_file in sorted(runs.items(), key=lambda item: item[0] != recorded_seed):
            rows.append({"dataset": sidecar["dataset"], "pair": sidecar["pair_id"], "seed": seed,
                         **_values(metrics_file)})
    return pd.DataFrame(rows), checks


def spread_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and metric: the pooled seed standard deviation, the mean range, pairs and seeds."""
    out = []
    for dataset, group in runs.groupby("dataset"):
        for metric in SHOWN:
            per_pair = group.groupby("pair")[metric]
            variances = per_pair.var(ddof=1).dropna()
            out.append({"dataset": dataset, "metric": metric, "pairs": len(variances),
                        "seeds": int(per_pair.count().min()), "pooled_sd": math.sqrt(variances.mean()),
                        "mean_range": float((per_pair.max() - per_pair.min()).mean()),
                        "largest_range": float((per_pair.max() - per_pair.min()).max())})
    return pd.DataFrame(out)


def print_tables(results: Path, method: str, runs: pd.DataFrame, checks: list[str]) -> None:
    spread = spread_table(runs)
    print(f"### Seed-to-seed spread of {method}\n")
    print("Each pair's value at every seed (the run's own output at its recorded seed first).\n")
    print("| dataset | pair | " + " | ".join(METRICS[m].label for m in SHOWN) + " |")
    print("|---|---|" + "---|" * len(SHOWN))
    for (dataset, pair), group in runs.groupby(["dataset", "pair"]):
        cells = [" / ".join(f"{v:.3f}" for v in group[m]) + f" (range {group[m].max() - group[m].min():.3f})"
                 for m in SHOWN]
        print(f"| {dataset} | {pair} | " + " | ".join(cells) + " |")
    print("\n| dataset | metric | pairs x seeds | pooled seed SD | mean range | largest range |\n|---|---|---|---|---|---|")
    for row in spread.itertuples():
        print(f"| {row.dataset} | {METRICS[row.metric].label} | {row.pairs} x {row.seeds} | {row.pooled_sd:.4f} | "
              f"{row.mean_range:.4f} | {row.largest_range:.4f} |")
    if checks:
        print("\nReproduction: " + "; ".join(checks) + ".")
    print(f"\n(kept in {save_spread(results, method, spread)})")


def save_spread(results: Path, method: str, spread: pd.DataFrame) -> Path:
    """Keep `method`'s rows of RESULTS/seed_spread.csv up to date (the other methods' rows kept)."""
    path = results / "seed_spread.csv"
    kept = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["method", *spread.columns])
    merged = pd.concat([kept[kept["method"] != method], spread.assign(method=method)[kept.columns]])
    merged.to_csv(path, index=False, float_format="%.6g")
    return path


def other_sd(spreads: dict, reference: str, method: str, dataset: str, metric: str) -> float:
    """The seed SD of `method` for the band: measured, else the reference's for a DTP variant (assumed
    to spread alike), else 0 (right where it draws no random numbers: module docstring)."""
    if (method, dataset, metric) in spreads:
        return spreads[(method, dataset, metric)]
    if methods.get(method).kind in ("dtp", "ablation"):
        return spreads[(reference, dataset, metric)]
    return 0.0


def print_noise_bands(results: Path, reference: str) -> None:
    """Every paired difference from `reference` in RESULTS/table_full.csv beside its seed-noise band,
    the spreads read from RESULTS/seed_spread.csv. Silent when either file is missing."""
    table, spread_file = results / "table_full.csv", results / "seed_spread.csv"
    if not (table.exists() and spread_file.exists()):
        return
    spreads = {(r.method, r.dataset, r.metric): r.pooled_sd for r in pd.read_csv(spread_file).itertuples()}
    measured = sorted({m for m, _, _ in spreads} - {reference})
    print(f"\n### Paired differences from {reference} against seed noise\n")
    print(f"Each difference (mean over n pairs) beside 1.96 sqrt((s_ref^2 + s_other^2) / n), the band seed "
          f"noise alone fills: s_ref the seed SD of {reference}, s_other the other method's "
          f"(measured: {', '.join(measured) or 'none'}; a DTP variant not measured: as {reference}; "
          f"any other: 0, as it draws no random numbers). 'noise' where the difference lies inside it.\n")
    print("| method | dataset | " + " | ".join(METRICS[m].label for m in SHOWN) + " |")
    print("|---|---|" + "---|" * len(SHOWN))
    for row in pd.read_csv(table).itertuples(index=False):
        row = row._asdict()
        if row["method"] == reference or (reference, row["dataset"], SHOWN[0]) not in spreads:
            continue
        cells = []
        for metric in SHOWN:
            difference, n = row.get(f"{metric}_minus_{reference}"), row.get(f"{metric}_minus_{reference}_n")
            if difference is None or pd.isna(difference) or not n:
                cells.append("")
                continue
            s_ref = spreads[(reference, row["dataset"], metric)]
            s_other = other_sd(spreads, reference, row["method"], row["dataset"], metric)
            band = Z95 * math.sqrt((s_ref ** 2 + s_other ** 2) / n)
            cells.append(f"{difference:+.3f} vs ±{band:.3f}" + (" noise" if abs(difference) <= band else ""))
        print(f"| {row['label']} | {row['dataset']} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results folder (e.g. results/pilot)")
    parser.add_argument("--method", default=REFERENCE, help="a seeded method of that run (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1007, 1008], help="seeds besides the recorded one")
    parser.add_argument("--pairs", type=int, help="the first N pairs of each dataset (default: every pair)")
    parser.add_argument("--threads", type=int, help="torch's CPU threads for the reruns (default: torch's)")
    parser.add_argument("--table-only", action="store_true", help="print the tables from the files already made")
    parser.add_argument("--bands", action="store_true",
                        help="print only the bands, from RESULTS/table_full.csv and RESULTS/seed_spread.csv")
    args = parser.parse_args()
    if not args.bands:
        if methods.get(args.method).kind in ("reference", "precomputed"):
            parser.error(f"--method {args.method}: draws no random numbers (a {methods.get(args.method).kind} "
                         f"method); its seed spread is 0")
        if args.threads:
            torch.set_num_threads(args.threads)
        if not args.table_only:
            measure(args.results, args.method, args.seeds, args.pairs)
        print_tables(args.results, args.method, *collect(args.results, args.method, args.pairs))
    print_noise_bands(args.results, REFERENCE)


if __name__ == "__main__":
    main()
