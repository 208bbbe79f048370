"""Snakemake script: metrics files (and the outputs they point to) -> results/figures/*.png."""
import sys

from dtp_bench.figures import FIGURES, make_figures
from dtp_bench.tables import load_metrics

with open(snakemake.log[0], "w") as log:  # noqa: F821 (snakemake is injected)
    sys.stderr = log
    frame = load_metrics(snakemake.input.metrics)
    make_figures(frame, {name: snakemake.output[name] for name in FIGURES}, snakemake.params.figures)
    log.write(f"{len(frame)} metrics files -> {len(FIGURES)} figures\n")
