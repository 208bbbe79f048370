# The datasets stage: fetch (sha256-checked) -> resize (the protocol's size) -> pair lists.
#
#   data/raw/<definition>/<file>                 rule datasets_fetch   one job per file
#   data/resized/<size>/<definition>/<image>.png rule datasets_resize  one job per image and size
#   data/pairs/<dataset>.tsv + .json             rule datasets_pairs   one job per dataset
#   rule datasets                                everything config["datasets"] names
#
# Settings: the `datasets:` block of the config (dtp_bench/datasets/settings.py documents every key;
# all have defaults). All logic lives in dtp_bench.datasets;
# the rules only name files. The per-file rules use `run:` rather than a `python -m` command:
# there are ~1000 of these millisecond jobs and a fresh interpreter costs ~1.5 s (torch) each.
# Run with `--force-use-threads` (set in the workflow profile) so they execute in-process;
# without it Snakemake spawns a process per `run:` job, which is correct but ~100x slower.
# They are local rules: on a cluster they would be tiny jobs that only wait in the queue.
#
# DATASETS (dtp_bench.datasets.workflow.DatasetsWorkflow, the plan of every configured dataset)
# comes from common.smk; tests/datasets_workflow/Snakefile runs this stage on its own by
# defining it first.
from dtp_bench.datasets import jobs as datasets_jobs


rule datasets:
    input:
        DATASETS.targets(),
# fmt: off
# (These three rules stay as they were written: Snakemake reruns a job whose `run:` code changed
# by a character, and reformatted lines here would fetch and resize every file of data/ again.)
rule datasets_fetch:
    wildcard_constraints:
        **DATASETS.wildcard_constraints(),
    output:
        "data/raw/{definition}/{file}",
    log:
        "logs/datasets/fetch/{definition}/{file}.log",
    params:
        # a changed mirror setting or pin re-fetches the file
        source=lambda wc: DATASETS.location(wc.definition, wc.file).describe(),
    localrule: True
    run:
        datasets_jobs.fetch_job(DATASETS.location(wildcards.definition, wildcards.file), output[0],
                                DATASETS.settings.fetch, log[0])


rule datasets_resize:
    wildcard_constraints:
        **DATASETS.wildcard_constraints(),
    input:
        lambda wc: DATASETS.resize_source(wc.definition, wc.image),
    output:
        "data/resized/{size}/{definition}/{image}.png",
    log:
        "logs/datasets/resize/{size}/{definition}/{image}.log",
    params:
        # the fetched file is checked against its pin again here: one replaced after the fetch stops the run
        pinned=lambda wc: DATASETS.resize_pin(wc.definition, wc.image),
    localrule: True
    run:
        datasets_jobs.resize_job(input[0], output[0], wildcards.size, log[0], pinned=params.pinned)


rule datasets_pairs:
    wildcard_constraints:
        **DATASETS.wildcard_constraints(),
    input:
        lambda wc: DATASETS.pair_list_inputs(wc.dataset),
    output:
        tsv="data/pairs/{dataset}.tsv",
        summary="data/pairs/{dataset}.json",
    log:
        "logs/datasets/pairs/{dataset}.log",
    params:
        plan=lambda wc: DATASETS.fingerprint(wc.dataset),
    localrule: True
    run:
        datasets_jobs.pairs_job(DATASETS.plan(wildcards.dataset), output.tsv, output.summary, log[0])
# fmt: on
