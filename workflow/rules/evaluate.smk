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
# `benchmark:` file, when there is one.
#
# Jobs run in-process (`run:`), so that a process builds the metric models once for every output
# it scores. Locally (the profiles set --force-use-threads) that is Snakemake's own process, and
# one `evaluate` job per output starts as soon as its output exists. On a cluster every job is a
# process of its own: with `evaluate_batch: N` > 1 (profiles/slurm sets it) one `evaluate_batch`
# job scores N outputs of a (dataset, method) into its folder, and `evaluate_from_batch` links each
# metrics file from there to its own path (profiles/slurm/README.md, "Evaluate").
# Helpers: common.smk ("evaluate").
from dtp_bench.metrics import jobs as metrics_jobs

if EVALUATE_BATCH == 1:

    rule evaluate:
        input:
            unpack(evaluation_inputs),
        output:
            METRICS_OUTPUT,
        log:
            METRICS_LOG,
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

else:

    rule evaluate_batch:
        input:
            unpack(evaluation_batch_inputs),
        output:
            directory(METRICS_BATCH_FOLDER),
        log:
            METRICS_BATCH_LOG,
        wildcard_constraints:
            batch="[0-9]+",
        params:
            settings=METRICS_SETTINGS,
            weights=METRIC_WEIGHTS_STATE,
            benchmarks=lambda wc: [
                stylize_benchmark(wc.dataset, wc.method, pair)
                for pair in evaluation_batch_pairs(wc)
            ],
        run:
            metrics_jobs.evaluate_batch_job(
                evaluation_batch_jobs(wildcards, input, params.benchmarks),
                params.settings,
                log[0],
            )

    rule evaluate_from_batch:
        input:
            metrics_batch_folder,
        output:
            METRICS_OUTPUT,
        log:
            METRICS_LOG,
        localrule: True
        run:
            link_from_batch(input[0], output[0], log[0])


rule evaluate_all:
    input:
        metrics_files(),
