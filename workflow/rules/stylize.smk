# The stylize stage: one job per (dataset, method, pair).
#
#   data/resized/<size>/...  ->  <results>/outputs/<dataset>/<method>/<pair>.{json,png,loss.csv,...}
#
# The sidecar .json is the job's output and its completion marker (written last, atomically);
# it records status ok | unavailable | failed with the reason, so that one method failing on one
# pair marks that cell and lets the rest of the table finish. Methods and their parameters come
# from `methods:` in the config. A finished output that the config would now make otherwise (another
# size, other parameters) is never replaced: the run stops first and says so (planned_outputs, below).
# Jobs that want a GPU declare `resources: gpu=1`; the job claims a free device itself
# (dtp_bench/gpu_claim.py), so `--resources gpu=N` on an N-GPU machine runs N jobs at once.
#
# Nothing stale (docs/refusals.md, "Reruns: nothing stale"): Snakemake reruns a job whose params
# changed since it last ran, so the params also carry (a) the state of each checkpoint file the
# method looks for (a cell unavailable for want of one reruns once it is there) and (b) a token that
# is new while the job's sidecar says failed (a failed cell reruns at the next invocation). With
# `--retries N` a failing job exits non-zero while attempts remain, and records `failed` (exit 0,
# the tables still get written) on the last one; an unavailable cell is recorded at once.
import functools
import json
import shlex
import sys
import types

from dtp_bench import methods as METHOD_REGISTRY
from dtp_bench import output_guard
from dtp_bench.datasets import layout as datasets_layout
from dtp_bench.stylize_job import retry_token

STYLIZE_SIZE = DATASETS.settings.sizes[0]
STYLIZE_OUTPUT = f"{RESULTS}/outputs/{{dataset}}/{{method}}/{{pair}}.json"
STYLIZE_BENCHMARK = f"{RESULTS}/benchmarks/stylize/{{dataset}}/{{method}}/{{pair}}.tsv"
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


def verified_pair_list(dataset):
    """The pair list as an input: it is built only from fetched files that still match their pins
    (dtp_core.fetch.verify_fetched), so a pair file replaced after the fetch (DPST's output, read
    here directly) stops the job with the list's error. `ancient`: a list rewritten for another
    reason (e.g. a larger `limit`) reruns nothing."""
    return ancient(str(datasets_layout.pair_list_path(dataset)))


def stylize_inputs(wildcards):
    return {
        "content": DATASETS.resized(wildcards.dataset, wildcards.pair, "content", STYLIZE_SIZE),
        "style": DATASETS.resized(wildcards.dataset, wildcards.pair, "style", STYLIZE_SIZE),
        "pairs": verified_pair_list(wildcards.dataset),
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


@functools.lru_cache(maxsize=None)
def _weights_state(method, weights_dir):
    return METHOD_REGISTRY.files_state(METHOD_REGISTRY.weight_files(method, {"weights_dir": weights_dir}))


def weights_state(wildcards):
    """Which of the method's checkpoint files are there (size, mtime): a cell that said "unavailable"
    reruns once `snakemake -- weights` (or a hand copy) puts them there. Once per method and run."""
    params = (config["methods"].get(wildcards.method) or {}).get("params") or {}
    return _weights_state(wildcards.method, params.get("weights_dir"))


def retry_of(sidecars):
    """A params function: new while one of `sidecars` says failed (`stylize_job.retry_token`). It must
    not take `output`: Snakemake does not record params derived from the output."""
    return lambda wildcards: retry_token([path.format(**wildcards) for path in sidecars])


def attempts(rule_name):
    """How many attempts Snakemake makes at a job of this rule: 1 + `--retries` (or the rule's own
    `retries:`). A resource, not a param, so that a different --retries reruns nothing. Known to the
    process that runs the job only locally: on SLURM the job's inner Snakemake runs with --retries 0,
    so each attempt counts as the last (a failure is recorded at once; the next run retries it)."""
    return lambda wildcards: workflow.get_rule(rule_name).restart_times + 1


# OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin while waiting make a CPU shared with other
# jobs (the in-process metrics, a second workflow) up to 3x slower; passive waiting costs ~nothing.
STYLIZE_JOB = f"OMP_NUM_THREADS={{threads}} OMP_WAIT_POLICY=PASSIVE {sys.executable} -m dtp_bench.stylize_job"


def job_shell(arguments):
    """The job's command. Snakemake deletes the log before each attempt; an earlier attempt's log is
    in Snakemake's own (show-failed-logs, profiles/default)."""
    return (f"{STYLIZE_JOB} {arguments} --attempt {{resources.attempt}} --attempts {{resources.attempts}}"
            " --retry-of={params.retry_of:q} > {log:q} 2>&1")


rule stylize:
    wildcard_constraints:
        # methods run in batches have their own rules (below); <method>@<size> is the deliver stage's
        method="(?!(" + "|".join(BATCHED_METHODS) + ")$)[^/@]+" if BATCHED_METHODS else "[^/@]+",
    input:
        unpack(stylize_inputs),
    output:
        STYLIZE_OUTPUT,
    log:
        f"{RESULTS}/logs/stylize/{{dataset}}/{{method}}/{{pair}}.log",
    benchmark:
        STYLIZE_BENCHMARK
    params:
        method_params=stylize_params,
        png=lambda wildcards, output: output[0][: -len(".json")] + ".png",
        device=config.get("device", "auto"),
        weights=weights_state,
        retry_of=retry_of([STYLIZE_OUTPUT]),
    threads: THREADS_PER_JOB
    resources:
        gpu=lambda wildcards: int(METHOD_REGISTRY.get(wildcards.method).needs_gpu),
        attempt=lambda wildcards, attempt: attempt,
        attempts=attempts("stylize"),
    shell:
        job_shell("--method {wildcards.method:q} --content {input.content:q} --style {input.style:q}"
                  " --out {params.png:q} --params {params.method_params:q} --device {params.device:q}"
                  " --threads {threads} --dataset {wildcards.dataset:q} --pair-id {wildcards.pair:q}")


# One job per group of BATCH_PAIRS pairs (dtp_core.batched: independent weights, one computation).
for _method in BATCHED_METHODS:
    for _dataset in method_datasets(_method):
        _pairs = DATASETS.pair_ids(_dataset)
        for _start in range(0, len(_pairs), BATCH_PAIRS):
            _group = _pairs[_start:_start + BATCH_PAIRS]
            _contents = [DATASETS.resized(_dataset, p, "content", STYLIZE_SIZE) for p in _group]
            _styles = [DATASETS.resized(_dataset, p, "style", STYLIZE_SIZE) for p in _group]
            _outs = [f"{RESULTS}/outputs/{_dataset}/{_method}/{p}" for p in _group]  # + .json / .png

            rule:
                name:
                    f"stylize_batch_{_dataset}_{_method}_{_start // BATCH_PAIRS}"
                input:
                    content=_contents,
                    style=_styles,
                    pairs=verified_pair_list(_dataset),
                output:
                    [f"{o}.json" for o in _outs],
                log:
                    f"{RESULTS}/logs/stylize/{_dataset}/{_method}/batch-{_group[0]}.log",
                benchmark:
                    f"{RESULTS}/benchmarks/stylize/{_dataset}/{_method}/batch-{_group[0]}.tsv"
                params:
                    method=_method,
                    dataset=_dataset,
                    method_params=method_params(_method),
                    batch=" ".join(f"--content {shlex.quote(str(c))} --style {shlex.quote(str(s))} "
                                   f"--out {shlex.quote(o + '.png')} --pair-id {shlex.quote(p)}"
                                   for c, s, o, p in zip(_contents, _styles, _outs, _group)),
                    device=config.get("device", "auto"),
                    retry_of=retry_of([f"{o}.json" for o in _outs]),
                threads: THREADS_PER_JOB
                resources:
                    gpu=1,
                    attempt=lambda wildcards, attempt: attempt,
                    attempts=attempts(f"stylize_batch_{_dataset}_{_method}_{_start // BATCH_PAIRS}"),
                shell:
                    job_shell("--method {params.method} {params.batch} --params {params.method_params:q}"
                              " --device {params.device:q} --threads {threads} --dataset {params.dataset}")


def planned_outputs():
    """What every stylize job of this config would write, and from what (dtp_bench/output_guard.py)."""
    planned = []
    for method in config["methods"]:
        for dataset in method_datasets(method):
            for pair in DATASETS.pair_ids(dataset):
                job = types.SimpleNamespace(dataset=dataset, method=method, pair=pair)
                inputs = stylize_inputs(job)
                planned.append(output_guard.PlannedOutput(STYLIZE_OUTPUT.format(**vars(job)), str(inputs["content"]),
                                                          str(inputs["style"]), json.loads(stylize_params(job))))
    return planned


# Nothing overwritten: a finished output made from other inputs (another size) or other parameters
# stops the run here, before any job, rather than being replaced by Snakemake's rerun.
output_guard.refuse_replacing(planned_outputs(), RESULTS)
