"""Snakemake script: metrics files -> table1.csv (+ .md), table_full, table1_vs_paper, ablation."""
import sys

from dtp_bench.tables import write_tables

with open(snakemake.log[0], "w") as log:  # noqa: F821 (snakemake is injected)
    sys.stderr = log
    out = {name: snakemake.output[name] for name in ("table1", "table1_md", "table_full", "table1_vs_paper", "ablation")}
    tables = write_tables(snakemake.input.metrics, out, snakemake.params.table1_datasets)
    # the table and how it was made, in the log as well as in table1.md
    log.write(open(snakemake.output.table1_md).read())
