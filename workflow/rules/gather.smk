# The gather stage: every metrics file -> the tables, the figures, and the report's content.
#
#   <results>/table1.csv (+ table1.md)  the paper's layout: PE and SSIM per paper dataset, pair counts, backbone
#   <results>/table_full.csv            every metric: mean, std, count per method and dataset
#   <results>/table1_vs_paper.csv       ours beside the paper's (SPEC.md), with the difference
#   <results>/ablation.csv              the Fig. 5 ablations beside the full model
#   <results>/figures/*.png             grids, score distributions, trade-off, loss curves, cost
#
#   snakemake --report <results>/report.html     one self-contained page with all of the above
#
# Settings: the `report:` block of the config (table1_datasets; figures, documented in
# dtp_bench/figures.py DEFAULTS).
from dtp_bench.figures import FIGURES
from dtp_bench.tables import DEFAULT_TABLE1_DATASETS

REPORT_SETTINGS = config.get("report", {})

report: "../report/workflow.rst"


rule gather_tables:
    input:
        metrics=metrics_files(),
    output:
        table1=report(f"{RESULTS}/table1.csv", caption="../report/table1.rst", category="Tables"),
        table1_md=report(f"{RESULTS}/table1.md", caption="../report/table1_md.rst", category="Tables"),
        table_full=report(f"{RESULTS}/table_full.csv", caption="../report/table_full.rst", category="Tables"),
        table1_vs_paper=report(f"{RESULTS}/table1_vs_paper.csv", caption="../report/table1_vs_paper.rst",
                               category="Tables"),
        ablation=report(f"{RESULTS}/ablation.csv", caption="../report/ablation.rst", category="Tables"),
    log:
        f"{RESULTS}/logs/gather/tables.log",
    params:
        table1_datasets=REPORT_SETTINGS.get("table1_datasets", DEFAULT_TABLE1_DATASETS),
    localrule: True
    script:
        "../scripts/gather_tables.py"


rule gather_figures:
    input:
        metrics=metrics_files(),
    output:
        **{name: report(f"{RESULTS}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures")
           for name in FIGURES},
    log:
        f"{RESULTS}/logs/gather/figures.log",
    params:
        figures=REPORT_SETTINGS.get("figures", {}),
    localrule: True
    script:
        "../scripts/gather_figures.py"


rule gather:
    input:
        rules.gather_tables.output,
        rules.gather_figures.output,


ALL_TARGETS.extend([*rules.gather_tables.output, *rules.gather_figures.output])
