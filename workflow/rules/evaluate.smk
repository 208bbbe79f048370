# The evaluate stage: every stylisation sidecar -> its metrics file.
#
#   <results>/outputs/<dataset>/<method>/<pair>.json (+ .png)  +  the pair's content and style
#     ->  <results>/metrics/<dataset>/<method>/<pair>.json
#
# Settings: the `metrics:` block of the config (dtp_bench/metrics/scorer.py DEFAULTS documents
# every key). The content and style an output is scored against are inputs of the job (the
# resized images the stylize job read, or the delivery size's). An output that is unavailable or
# failed still gets a metrics file carrying its status and reason, so that the tables can say why
# a cell is empty. The metrics file's `cost` also carries the stylize job's (or its batch's)
# `benchmark:` file, when there is one. Jobs run in-process (`run:`; the profile sets
# --force-use-threads) so that the metric models are loaded once per run, not once per job. On
# SLURM (profiles/slurm) they are submitted in groups, one SLURM job per many outputs, but each
# output still runs in a process of its own there (profiles/slurm/README.md, "Evaluate").
# Helpers: common.smk ("evaluate").
from dtp_bench.metrics import jobs as metrics_jobs


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        METRICS_OUTPUT,
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/{{method}}/{{pair}}.log",
    params:
        # a changed metric setting re-scores every output
        settings=METRICS_SETTINGS,
        # PieAPP's weights appearing re-scores what said unavailable
        weights=METRIC_WEIGHTS_STATE,
        benchmark=lambda wc: stylize_benchmark(wc.dataset, wc.method, wc.pair),
    run:
        metrics_jobs.evaluate_job(
            input.sidecar,
            output[0],
            params.settings,
            log[0],
            dataset=wildcards.dataset,
            method=wildcards.method,
            pair_id=wildcards.pair,
            content=input.content,
            style=input.style,
            benchmark=params.benchmark,
        )


rule evaluate_all:
    input:
        metrics_files(),
