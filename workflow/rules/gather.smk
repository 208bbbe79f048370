# The gather stage: every metrics file -> the tables, the figures, and the report's content.
#
#   <results>/table1.csv (+ table1.md)  the paper's layout: PE and SSIM per paper dataset, pair
#                                       counts, backbone
#   <results>/table_full.csv            every metric: mean, std, count per method and dataset
#   <results>/table1_vs_paper.csv       ours beside the paper's (SPEC.md), with the difference
#   <results>/ablation.csv              the Fig. 5 ablations beside the full model
#   <results>/figures/*.png             grids, score distributions, trade-off, loss curves, cost
#
#   snakemake --report <results>/report.html     one self-contained page with all of the above
#
# Settings: the `report:` block of the config (table1_datasets; figures, documented in
# dtp_bench/figures.py DEFAULTS). Each table and figure has its caption in
# workflow/report/<name>.rst. Helpers: common.smk (table_files, figure_files, metrics_files).
from dtp_bench.tables import DEFAULT_TABLE1_DATASETS

REPORT_SETTINGS = config.get("report", {})


rule gather_tables:
    input:
        metrics=metrics_files(),
    output:
        **{
            name: report(path, caption=f"../report/{name}.rst", category="Tables")
            for name, path in table_files().items()
        },
    log:
        f"{RESULTS}/logs/gather/tables.log",
    localrule: True
    conda:
        SOFTWARE
    params:
        table1_datasets=REPORT_SETTINGS.get("table1_datasets", DEFAULT_TABLE1_DATASETS),
    script:
        "../scripts/gather_tables.py"


rule gather_figures:
    input:
        metrics=metrics_files(),
    output:
        **{
            name: report(path, caption=f"../report/{name}.rst", category="Figures")
            for name, path in figure_files().items()
        },
    log:
        f"{RESULTS}/logs/gather/figures.log",
    localrule: True
    conda:
        SOFTWARE
    params:
        figures=REPORT_SETTINGS.get("figures", {}),
    script:
        "../scripts/gather_figures.py"


rule gather:
    input:
        rules.gather_tables.output,
        rules.gather_figures.output,
