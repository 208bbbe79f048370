# The evaluate stage: every stylisation sidecar -> its metrics file.
#
#   <results>/outputs/<dataset>/<method>/<pair>.json  ->  <results>/metrics/<dataset>/<method>/<pair>.json
#
# Settings: the `metrics:` block of the config (dtp_bench/metrics/scorer.py DEFAULTS documents every
# key). An output that is unavailable or failed still gets a metrics file carrying its status and
# reason, so that the tables can say why a cell is empty. Jobs run in-process (`run:`; the profile
# sets --force-use-threads) so that the metric models are loaded once per run, not once per job.
from dtp_bench.metrics import jobs as metrics_jobs

METRICS_SETTINGS = config.get("metrics", {})
# Snakemake's `benchmark:` file of each stylisation job, when the stylize stage writes one there.
STYLIZE_BENCHMARK = globals().get("STYLIZE_BENCHMARK", f"{RESULTS}/benchmarks/stylize/{{dataset}}/{{method}}/{{pair}}.tsv")


def evaluation_jobs():
    """(dataset, method, pair) for every configured method on every configured dataset it runs on."""
    runs = [(method, method) for method in config["methods"]] + delivered_methods()
    return [(dataset, name, pair) for name, method in runs for dataset in method_datasets(method)
            for pair in DATASETS.pair_ids(dataset)]


def metrics_files():
    return [f"{RESULTS}/metrics/{d}/{m}/{p}.json" for d, m, p in evaluation_jobs()]


rule evaluate:
    input:
        sidecar=f"{RESULTS}/outputs/{{dataset}}/{{method}}/{{pair}}.json",
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{method}}/{{pair}}.json",
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/{{method}}/{{pair}}.log",
    params:
        settings=METRICS_SETTINGS,  # a changed metric setting re-scores every output
        weights=METRIC_WEIGHTS_STATE,  # PieAPP's weights appearing re-scores what said unavailable (weights.smk)
        benchmark=lambda wc: STYLIZE_BENCHMARK.format(**wc),
    run:
        metrics_jobs.evaluate_job(input.sidecar, output[0], params.settings, log[0], dataset=wildcards.dataset,
                                  method=wildcards.method, pair_id=wildcards.pair, benchmark=params.benchmark)


rule evaluate_all:
    input:
        metrics_files(),
