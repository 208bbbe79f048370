# The stylize stage: one job per (dataset, method, pair).
#
#   data/resized/<size>/...  ->  results/outputs/<dataset>/<method>/<pair>.{json,png,loss.csv,...}
#
# The sidecar .json is the job's output and its completion marker (written last, atomically);
# it records status ok | unavailable | failed with the reason, so that one method failing on one
# pair marks that cell and lets the rest of the table finish. Methods and their parameters come
# from `methods:` in the config; a change of a method's parameters re-runs only that method's jobs.
# Jobs that want a GPU declare `resources: gpu=1`; the job claims a free device itself
# (dtp_bench/gpu_claim.py), so `--resources gpu=N` on an N-GPU machine runs N jobs at once.
import json
import shlex
import sys

from dtp_bench import methods as METHOD_REGISTRY

STYLIZE_SIZE = DATASETS.settings.sizes[0]
STYLIZE_BENCHMARK = "results/benchmarks/stylize/{dataset}/{method}/{pair}.tsv"
THREADS_PER_JOB = config.get("threads_per_job", 2)
# batch_pairs > 1: methods that can (DTP) train that many pairs as one computation in one job.
BATCH_PAIRS = config.get("batch_pairs", 1)
BATCHED_METHODS = [m for m in config["methods"] if BATCH_PAIRS > 1 and METHOD_REGISTRY.get(m).stylize_many]


def method_datasets(method):
    """The datasets `method` runs on: its own `datasets:` list, else `benchmark_datasets`. An empty
    list turns the method off: config files overlay each other, so an entry cannot be deleted."""
    wanted = (config["methods"].get(method) or {}).get("datasets")
    if wanted is None:
        wanted = config.get("benchmark_datasets", ["photo-r", "celeba-hq", "ffhq"])
    return [dataset for dataset in DATASETS.names if dataset in wanted]


def _pair_files(wildcards):
    """Files a method takes from the pair itself (e.g. DPST's own output for that pair)."""
    spec = METHOD_REGISTRY.get(wildcards.method)
    extras = dict(DATASETS.pair(wildcards.dataset, wildcards.pair).extras)
    wanted = spec.extra.get("params_from_pair", {})
    return {param: str(extras[extra].raw) for param, extra in wanted.items() if extra in extras}


def stylize_inputs(wildcards):
    return {
        "content": DATASETS.resized(wildcards.dataset, wildcards.pair, "content", STYLIZE_SIZE),
        "style": DATASETS.resized(wildcards.dataset, wildcards.pair, "style", STYLIZE_SIZE),
        **_pair_files(wildcards),
    }


def method_params(method, **more):
    """The method's configured parameters (and `more`) as the job's JSON: part of the job's
    identity, so a change re-runs this method's jobs only."""
    params = dict((config["methods"].get(method) or {}).get("params") or {})
    params.update(more)
    return json.dumps(params, sort_keys=True)


def stylize_params(wildcards):
    return method_params(wildcards.method, **_pair_files(wildcards))


# OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin while waiting make a CPU shared with other
# jobs (the in-process metrics, a second workflow) up to 3x slower; passive waiting costs ~nothing.
STYLIZE_JOB = f"OMP_NUM_THREADS={{threads}} OMP_WAIT_POLICY=PASSIVE {sys.executable} -m dtp_bench.stylize_job"


rule stylize:
    wildcard_constraints:
        # methods run in batches have their own rules (below); <method>@<size> is the deliver stage's
        method="(?!(" + "|".join(BATCHED_METHODS) + ")$)[^/@]+" if BATCHED_METHODS else "[^/@]+",
    input:
        unpack(stylize_inputs),
    output:
        "results/outputs/{dataset}/{method}/{pair}.json",
    log:
        "logs/stylize/{dataset}/{method}/{pair}.log",
    benchmark:
        STYLIZE_BENCHMARK
    params:
        method_params=stylize_params,
        png=lambda wildcards, output: output[0][: -len(".json")] + ".png",
        device=config.get("device", "auto"),
    threads: THREADS_PER_JOB
    resources:
        gpu=lambda wildcards: int(METHOD_REGISTRY.get(wildcards.method).needs_gpu),
    shell:
        STYLIZE_JOB + " --method {wildcards.method:q}"
        " --content {input.content:q} --style {input.style:q} --out {params.png:q} --params {params.method_params:q}"
        " --device {params.device:q} --threads {threads} --dataset {wildcards.dataset:q} --pair-id {wildcards.pair:q}"
        " > {log:q} 2>&1"


# One job per group of BATCH_PAIRS pairs (dtp_core.batched: independent weights, one computation).
for _method in BATCHED_METHODS:
    for _dataset in method_datasets(_method):
        _pairs = DATASETS.pair_ids(_dataset)
        for _start in range(0, len(_pairs), BATCH_PAIRS):
            _group = _pairs[_start:_start + BATCH_PAIRS]
            _contents = [DATASETS.resized(_dataset, p, "content", STYLIZE_SIZE) for p in _group]
            _styles = [DATASETS.resized(_dataset, p, "style", STYLIZE_SIZE) for p in _group]
            _outs = [f"results/outputs/{_dataset}/{_method}/{p}" for p in _group]  # + .json / .png

            rule:
                name:
                    f"stylize_batch_{_dataset}_{_method}_{_start // BATCH_PAIRS}"
                input:
                    content=_contents,
                    style=_styles,
                output:
                    [f"{o}.json" for o in _outs],
                log:
                    f"logs/stylize/{_dataset}/{_method}/batch-{_group[0]}.log",
                benchmark:
                    f"results/benchmarks/stylize/{_dataset}/{_method}/batch-{_group[0]}.tsv"
                params:
                    method=_method,
                    dataset=_dataset,
                    method_params=method_params(_method),
                    batch=" ".join(f"--content {shlex.quote(str(c))} --style {shlex.quote(str(s))} "
                                   f"--out {shlex.quote(o + '.png')} --pair-id {shlex.quote(p)}"
                                   for c, s, o, p in zip(_contents, _styles, _outs, _group)),
                    device=config.get("device", "auto"),
                threads: THREADS_PER_JOB
                resources:
                    gpu=1,
                shell:
                    STYLIZE_JOB + " --method {params.method} {params.batch} --params {params.method_params:q} --device {params.device:q}"
                    " --threads {threads} --dataset {params.dataset} > {log:q} 2>&1"
