"""The pilot's tables for docs/pilot.md, printed from a finished run's files.

    python benchmarks/pilot_summary.py results/pilot          # -> Markdown on stdout

Reads `<results>/table_full.csv` (written by the workflow's gather stage from the per-pair metrics
files) and prints, per dataset, every method's mean on every metric with its 95% bootstrap interval
over pairs and n, then each method's paired difference from DTP lambda_c = 1/5, then the cost of a
job. Nothing is computed here that the table does not hold: this only lays it out.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_bench.metrics import METRICS  # noqa: E402
from dtp_bench.tables import FULL_MODEL  # noqa: E402

SHOWN = ("ssim", "lpips", "gram", "histogram")


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _cell(row, metric: str) -> str:
    mean = _number(row[f"{metric}_mean"])
    if math.isnan(mean):
        return str(row[f"{metric}_mean"])
    low, high = _number(row[f"{metric}_ci95_low"]), _number(row[f"{metric}_ci95_high"])
    interval = "" if math.isnan(low) else f" [{low:.3f}, {high:.3f}]"
    return f"{mean:.3f}{interval}"


def _difference(row, metric: str) -> str:
    prefix = f"{metric}_minus_{FULL_MODEL}"
    mean = _number(row[prefix])
    if math.isnan(mean):
        return ""
    low, high, p = (_number(row[f"{prefix}_ci95_low"]), _number(row[f"{prefix}_ci95_high"]), _number(row[f"{prefix}_p"]))
    interval = "" if math.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"
    sign = "" if math.isnan(low) or low <= 0 <= high else " *"
    return f"{mean:+.3f}{interval}{sign}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    table = pd.read_csv(parser.parse_args().results / "table_full.csv")
    header = " | ".join(f"{METRICS[m].label} ({METRICS[m].direction} better)" for m in SHOWN)
    for dataset, rows in table.groupby("dataset", sort=False):
        print(f"\n### {dataset}\n\nmean [95% interval over pairs]; n pairs\n")
        print(f"| method | n | {header} |\n|---|---|" + "---|" * len(SHOWN))
        for _, row in rows.iterrows():
            print(f"| {row['label']} | {row['ssim_n']} | " + " | ".join(_cell(row, m) for m in SHOWN) + " |")
        print(f"\nminus {FULL_MODEL} on the same pairs (mean [95% interval]; * the interval excludes 0)\n")
        print(f"| method | pairs | " + " | ".join(METRICS[m].label for m in SHOWN) + " |\n|---|---|" + "---|" * len(SHOWN))
        for _, row in rows[rows["method"] != FULL_MODEL].iterrows():
            print(f"| {row['label']} | {row[f'ssim_minus_{FULL_MODEL}_n']} | "
                  + " | ".join(_difference(row, m) for m in SHOWN) + " |")
    print("\n### Cost per job (mean seconds of the stylize job, set-up included)\n")
    print("| method | " + " | ".join(table["dataset"].unique()) + " |\n|---|" + "---|" * table["dataset"].nunique())
    for label, rows in table.groupby("label", sort=False):
        seconds = {d: _number(s) for d, s in zip(rows["dataset"], rows["benchmark_s_mean"])}
        print(f"| {label} | " + " | ".join("" if math.isnan(seconds.get(d, math.nan)) else f"{seconds[d]:.0f}"
                                          for d in table["dataset"].unique()) + " |")


if __name__ == "__main__":
    main()
