# What every stage shares: the checked config, the datasets, the path of every file a stage hands to
# the next, the input and params functions of the rules, and `get_final_output()` (what `all` builds).
# The rule files (datasets, weights, stylize, deliver, evaluate, gather) hold rules only; each reads
# what it needs from here, never from another rule file, so they can be included in any order after
# this one.
import functools
import json
import os
import shlex
import shutil
import sys
import types
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake_interface_executor_plugins.settings import DeploymentMethod
from snakemake.utils import validate

from baselines import checkpoints
from dtp_bench import config_check
from dtp_bench import methods as METHOD_REGISTRY
from dtp_bench import output_guard
from dtp_bench.datasets import layout as datasets_layout
from dtp_bench.datasets.workflow import DatasetsWorkflow
from dtp_bench.delivered import delivered_name, split_delivered
from dtp_bench.figures import FIGURES
from dtp_bench.stylize_job import retry_token

# -- the config ---------------------------------------------------------------------------------
# Checked whole before anything is planned, so that a bad value stops the run before a job starts,
# as one error naming its key path and the fix (dtp_bench/config_check.py; the messages:
# docs/refusals.md): nested `--config` values, which Snakemake passes as strings, read as the
# schema's types; the schema; then what the schema cannot say (dataset names, the mirror folder,
# each method's params as its own config class reads them). `config` then holds the values the
# jobs will use. config/README.md says what each key does.
# Installed method plugins (dtp_bench/plugins.py, docs/extending.md) join the schema's method enums.
CONFIG_SCHEMA = config_check.schema_with_plugins(
    str(Path(workflow.basedir) / "schemas" / "config.schema.yaml")
)

config.update(config_check.typed_command_line(config, CONFIG_SCHEMA))
try:
    validate(config, CONFIG_SCHEMA)
except WorkflowError:
    # a misspelt dataset: the closest name, not the schema's enum
    config_check.check_dataset_names(config)
    # the key path, the value, what it may be
    config_check.explain_schema_error(config, CONFIG_SCHEMA)
    raise
config.update(config_check.check_config(config))

# Where this run's outputs, scores, tables and figures go (`results:`; config/quick.yaml has its
# own, so a quick check never replaces a paper-protocol output), with the logs of the jobs that
# write there (<results>/logs/). data/ and its logs/ are shared: they hold only checked, pinned
# inputs.
RESULTS = config.get("results", "results")

# The datasets stage's plan (dtp_bench/datasets/workflow.py): every pair of every configured
# dataset, computed from the dataset definitions and the config, so the whole DAG is known before
# anything is fetched. It is the same plan data/pairs/<dataset>.tsv is written from; the pair
# lists are the record of it (with each file's source and sha256) and an input of every stylize
# job, whose job checks every raw file against its pin first, not a table read back here.
DATASETS = DatasetsWorkflow.from_config(config)

# -- software -----------------------------------------------------------------------------------
# The jobs that run a program of their own (the shell and script rules) use the project's
# environment.yml. Snakemake itself runs in that environment (the rule files import dtp_bench when
# the workflow is parsed), and by default those jobs run with Snakemake's own interpreter. With
# `--sdm conda` they run in an environment Snakemake builds from environment.yml, with this
# checkout on their PYTHONPATH (environment.yml installs the dependencies, not the project).
SOFTWARE = "../../environment.yml"
CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if CONDA else sys.executable
if CONDA:
    _checkout = str(Path(workflow.basedir).parent)
    os.environ.update(
        PYTHONPATH=os.pathsep.join(
            filter(None, [_checkout, os.environ.get("PYTHONPATH")])
        )
    )

# -- which method runs where --------------------------------------------------------------------
STYLIZE_SIZE = DATASETS.settings.sizes[0]
THREADS_PER_JOB = config.get("threads_per_job", 2)
# batch_pairs > 1: methods that can (DTP) train that many pairs as one computation in one job.
BATCH_PAIRS = config.get("batch_pairs", 1)
BATCHED_METHODS = [
    m
    for m in config["methods"]
    if BATCH_PAIRS > 1 and METHOD_REGISTRY.get(m).stylize_many
]

DELIVERY = config.get("delivery") or {}
DELIVERY_SIZE = DELIVERY.get("size")
DELIVERY_METHODS = DELIVERY.get("methods", []) if DELIVERY_SIZE else []
_unconfigured = [m for m in DELIVERY_METHODS if m not in config["methods"]]
if _unconfigured:  # a delivered row needs the method's own outputs
    raise ValueError(
        f"delivery.methods: {', '.join(_unconfigured)} is not under `methods:` in this "
        "config; add it there, or remove it from delivery.methods"
    )


def method_datasets(method):
    """The datasets `method` runs on: its own `datasets:` list, else `benchmark_datasets`. An empty
    list turns the method off: config files overlay each other, so an entry cannot be deleted.
    """
    wanted = (config["methods"].get(method) or {}).get("datasets")
    if wanted is None:
        wanted = config.get("benchmark_datasets", ["photo-r", "celeba-hq", "ffhq"])
    return [dataset for dataset in DATASETS.names if dataset in wanted]


def delivered_methods():
    """(delivered name, method) for each method delivered at DELIVERY_SIZE."""
    return [
        (delivered_name(method, DELIVERY_SIZE), method) for method in DELIVERY_METHODS
    ]


def evaluation_jobs():
    """(dataset, method, pair) for every configured method on every dataset it runs on."""
    runs = [(method, method) for method in config["methods"]] + delivered_methods()
    return [
        (dataset, name, pair)
        for name, method in runs
        for dataset in method_datasets(method)
        for pair in DATASETS.pair_ids(dataset)
    ]


# -- the files each stage hands to the next -----------------------------------------------------
# <results>/outputs/<dataset>/<method>/<pair>.json: a stylisation's sidecar, written last.
STYLIZE_OUTPUT = f"{RESULTS}/outputs/{{dataset}}/{{method}}/{{pair}}.json"
STYLIZE_LOG = f"{RESULTS}/logs/stylize/{{dataset}}/{{method}}/{{pair}}.log"
STYLIZE_BENCHMARK = f"{RESULTS}/benchmarks/stylize/{{dataset}}/{{method}}/{{pair}}.tsv"
# A batch of pairs trained as one computation (batch_pairs > 1) writes its pairs' files into its
# own folder; each pair's files are then linked to that pair's output path (stylize.smk).
BATCH_FOLDER = f"{RESULTS}/batches/{{dataset}}/{{method}}/batch-{{batch}}"
BATCH_LOG = f"{RESULTS}/logs/stylize/{{dataset}}/{{method}}/batch-{{batch}}.log"
BATCH_BENCHMARK = (
    f"{RESULTS}/benchmarks/stylize/{{dataset}}/{{method}}/batch-{{batch}}.tsv"
)
METRICS_OUTPUT = f"{RESULTS}/metrics/{{dataset}}/{{method}}/{{pair}}.json"
METRICS_LOG = f"{RESULTS}/logs/evaluate/{{dataset}}/{{method}}/{{pair}}.log"
TABLES = {
    "table1": "table1.csv",
    "table1_md": "table1.md",
    "table_full": "table_full.csv",
    "table1_vs_paper": "table1_vs_paper.csv",
    "ablation": "ablation.csv",
}


def metrics_files():
    return [
        METRICS_OUTPUT.format(dataset=d, method=m, pair=p)
        for d, m, p in evaluation_jobs()
    ]


def table_files():
    """The gather stage's tables, by output name (the name of each one's report caption)."""
    return {name: f"{RESULTS}/{file}" for name, file in TABLES.items()}


def figure_files():
    return {name: f"{RESULTS}/figures/{name}.png" for name in FIGURES}


def get_final_output():
    """What `all` builds: every pair list and resized image, every table and figure (and through
    them every output and metrics file of the config)."""
    return [*DATASETS.targets(), *table_files().values(), *figure_files().values()]


# -- stylize ------------------------------------------------------------------------------------
def pair_files(wildcards):
    """Files a method takes from the pair itself (e.g. DPST's own output for that pair)."""
    spec = METHOD_REGISTRY.get(wildcards.method)
    extras = dict(DATASETS.pair(wildcards.dataset, wildcards.pair).extras)
    wanted = spec.extra.get("params_from_pair", {})
    return {
        param: str(extras[extra].raw)
        for param, extra in wanted.items()
        if extra in extras
    }


def verified_pair_list(dataset):
    """The pair list as an input: it is built only from fetched files that still match their pins
    (dtp_core.fetch.verify_fetched), so a pair file replaced after the fetch (DPST's output, read
    here directly) stops the job with the list's error. `ancient`: a list rewritten for another
    reason (e.g. a larger `limit`) reruns nothing. The job takes its pair from the wildcards.
    """
    return ancient(str(datasets_layout.pair_list_path(dataset)))


def stylize_inputs(wildcards):
    return {
        "content": DATASETS.resized(
            wildcards.dataset, wildcards.pair, "content", STYLIZE_SIZE
        ),
        "style": DATASETS.resized(
            wildcards.dataset, wildcards.pair, "style", STYLIZE_SIZE
        ),
        "pairs": verified_pair_list(wildcards.dataset),
        **pair_files(wildcards),
    }


def method_params(method, **more):
    """The method's configured parameters (and `more`) as the job's JSON: part of the job's
    identity, so a change re-runs this method's jobs only."""
    params = dict((config["methods"].get(method) or {}).get("params") or {})
    params.update(more)
    return json.dumps(params, sort_keys=True)


def stylize_params(wildcards):
    return method_params(wildcards.method, **pair_files(wildcards))


@functools.lru_cache(maxsize=None)
def _weights_state(method, weights_dir):
    files = METHOD_REGISTRY.weight_files(method, {"weights_dir": weights_dir})
    return METHOD_REGISTRY.files_state(files)


def weights_state(wildcards):
    """Which of the method's checkpoint files are there (size, mtime): a cell that said
    "unavailable" reruns once `snakemake -- weights` (or a hand copy) puts them there. Once per
    method and run."""
    params = (config["methods"].get(wildcards.method) or {}).get("params") or {}
    return _weights_state(wildcards.method, params.get("weights_dir"))


def retry_of(sidecars):
    """A params function: new while one of `sidecars` says failed (`stylize_job.retry_token`). It
    must not take `output`: Snakemake does not record params derived from the output."""
    return lambda wildcards: retry_token(
        [path.format(**wildcards) for path in sidecars]
    )


def attempts(rule_name):
    """How many attempts Snakemake makes at a job of this rule: 1 + `--retries` (or the rule's own
    `retries:`). A resource, not a param, so that a different --retries reruns nothing. Known to
    the process that runs the job only locally: on SLURM the job's inner Snakemake runs with
    --retries 0, so each attempt counts as the last (a failure is recorded at once; the next run
    retries it)."""
    return lambda wildcards: workflow.get_rule(rule_name).restart_times + 1


# SLURM (profiles/slurm): a job that uses a GPU goes to the GPU partition, every other job to the
# CPU partition. The profile's `default-resources: slurm_partition` names the CPU one for every
# rule; the stylize rules, whose jobs may use a GPU, name theirs per job here. Both names are the
# site's, from the environment like the profile's other site values; without SLURM the resource is
# unused.
SLURM_PARTITIONS = {
    True: os.environ.get("DTP_SLURM_GPU_PARTITION", "gpu"),
    False: os.environ.get("DTP_SLURM_CPU_PARTITION", "cpu"),
}


@functools.cache  # asked when the DAG is built: the executor is known only then, not at parse time
def gpu_within_reach():
    """Whether a stylize job may get a GPU: not with `device: cpu`; for a job run on this machine
    under `auto`, only where this machine has a CUDA GPU (a cluster's job runs elsewhere: its
    partition decides). Without this, profiles/default's `gpu: 1` would run a GPU-less box's DTP,
    Gatys, STROTSS and SinIR jobs one at a time, however many cores it gives them."""
    device = config.get("device", "auto")
    if device == "cpu":
        return False
    if device != "auto" or workflow.non_local_exec or workflow.remote_exec:
        return True  # named by the user, or decided on the submitting side (the cluster's partition)
    import torch  # already loaded by the method registry

    return torch.cuda.device_count() > 0


def uses_gpu(wildcards):
    """1 if the job of this (method, ...) will hold a GPU (`resources: gpu`), else 0."""
    return int(METHOD_REGISTRY.get(wildcards.method).needs_gpu and gpu_within_reach())


def slurm_partition(wildcards):
    """The partition a stylize job of this method is submitted to (profiles/slurm)."""
    return SLURM_PARTITIONS[bool(uses_gpu(wildcards))]


# OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin while waiting make a CPU shared with other
# jobs (the in-process metrics, a second workflow) up to 3x slower; passive waiting costs ~nothing.
STYLIZE_JOB = f"OMP_NUM_THREADS={{threads}} OMP_WAIT_POLICY=PASSIVE {PYTHON} -m dtp_bench.stylize_job"


def job_shell(arguments):
    """The job's command. Snakemake deletes the log before each attempt; an earlier attempt's log
    is in Snakemake's own (show-failed-logs, profiles/default)."""
    return (
        f"{STYLIZE_JOB} {arguments} --attempt {{resources.attempt}} --attempts "
        "{resources.attempts} --retry-of={params.retry_of:q} > {log:q} 2>&1"
    )


def batched_method_pattern():
    """The `method` wildcard of the batched rules: one of BATCHED_METHODS (none: matches nothing)."""
    return "|".join(BATCHED_METHODS) if BATCHED_METHODS else "(?!)"


def unbatched_method_pattern():
    """The `method` wildcard of the one-pair rule: any method not run in batches
    (<method>@<size> is the deliver stage's). The look-ahead ends at the "/" that follows the
    method in a path (or at the end of a bare value)."""
    if not BATCHED_METHODS:
        return "[^/@]+"
    return "(?!(?:" + "|".join(BATCHED_METHODS) + ")(?:/|$))[^/@]+"


def pair_batches(dataset, size=BATCH_PAIRS):
    """The pairs of `dataset` in groups of `size` (`batch_pairs`, or `evaluate_batch` for the
    evaluate stage), in pair-list order: batch i is group i. Adding pairs at the end of a list
    leaves every full batch as it was."""
    pairs = DATASETS.pair_ids(dataset)
    return [pairs[start : start + size] for start in range(0, len(pairs), size)]


def batch_of(dataset, pair, size=BATCH_PAIRS):
    """The batch (its number, as the `batch` wildcard) of `pair` of `dataset`."""
    for index, group in enumerate(pair_batches(dataset, size)):
        if pair in group:
            return str(index)
    raise WorkflowError(
        f"{dataset}: no pair {pair} in {datasets_layout.pair_list_path(dataset)}"
    )


def batch_pair_ids(wildcards):
    return pair_batches(wildcards.dataset)[int(wildcards.batch)]


def batch_inputs(wildcards):
    """The content and style images of the batch's pairs, in the batch's order."""
    pairs = batch_pair_ids(wildcards)
    resized = lambda pair, role: DATASETS.resized(
        wildcards.dataset, pair, role, STYLIZE_SIZE
    )
    return {
        "content": [resized(pair, "content") for pair in pairs],
        "style": [resized(pair, "style") for pair in pairs],
        "pairs": verified_pair_list(wildcards.dataset),
    }


def batch_sidecars(wildcards):
    folder = BATCH_FOLDER.format(**wildcards)
    return [f"{folder}/{pair}.json" for pair in batch_pair_ids(wildcards)]


def batch_arguments(wildcards, input):
    """--content/--style/--out/--pair-id once per pair of the batch: each pair's files go to the
    batch's folder, under the pair's own name."""
    folder = BATCH_FOLDER.format(**wildcards)
    return " ".join(
        f"--content {shlex.quote(content)} --style {shlex.quote(style)} "
        f"--out {shlex.quote(f'{folder}/{pair}.png')} --pair-id {shlex.quote(pair)}"
        for content, style, pair in zip(
            input.content, input.style, batch_pair_ids(wildcards)
        )
    )


def batch_retry_of(wildcards):
    """`retry_of` for a batch: new while one of its pairs' sidecars says failed."""
    return retry_token(batch_sidecars(wildcards))


def batch_folder(wildcards):
    """The folder of the batch that trains this pair."""
    batch = batch_of(wildcards.dataset, wildcards.pair)
    return BATCH_FOLDER.format(
        dataset=wildcards.dataset, method=wildcards.method, batch=batch
    )


def link_from_batch(folder, sidecar, log):
    """One pair's files, from its batch's folder to its own output path (hard links, or copies
    where the file system has none), each put in place atomically; the sidecar (or metrics file)
    last, so that a job stopped midway leaves nothing that looks finished."""
    source = Path(folder) / Path(sidecar).name
    names = [*json.loads(source.read_text()).get("files", {}).values(), source.name]
    Path(sidecar).parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = Path(sidecar).with_name(name)
        partial = target.with_name(f".{name}.part")
        partial.unlink(missing_ok=True)
        try:
            os.link(Path(folder) / name, partial)
        except OSError:
            shutil.copy2(Path(folder) / name, partial)
        os.replace(partial, target)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    Path(log).write_text(f"{', '.join(names)}: from {folder}\n")


def stylize_benchmark(dataset, method, pair):
    """The `benchmark:` file of the job that made this pair's output: its own, or its batch's (a
    batch's time and memory are the whole batch's, as the sidecar's `batch` record says). What the
    evaluate stage reads into the metrics file's `cost`."""
    if method in BATCHED_METHODS:
        return BATCH_BENCHMARK.format(
            dataset=dataset, method=method, batch=batch_of(dataset, pair)
        )
    return STYLIZE_BENCHMARK.format(dataset=dataset, method=method, pair=pair)


def planned_outputs():
    """What every stylize job of this config would write, and from what (output_guard)."""
    planned = []
    for method in config["methods"]:
        for dataset in method_datasets(method):
            for pair in DATASETS.pair_ids(dataset):
                job = types.SimpleNamespace(dataset=dataset, method=method, pair=pair)
                inputs = stylize_inputs(job)
                planned.append(
                    output_guard.PlannedOutput(
                        STYLIZE_OUTPUT.format(**vars(job)),
                        str(inputs["content"]),
                        str(inputs["style"]),
                        json.loads(stylize_params(job)),
                    )
                )
    return planned


# -- deliver ------------------------------------------------------------------------------------
def delivery_inputs(wildcards):
    """The working-size output and the content it was made from (the upsampler's guide), and the
    content and style at the delivery size."""
    return {
        "sidecar": STYLIZE_OUTPUT.format(**wildcards),
        "working_content": DATASETS.resized(
            wildcards.dataset, wildcards.pair, "content", STYLIZE_SIZE
        ),
        "content": DATASETS.resized(
            wildcards.dataset, wildcards.pair, "content", wildcards.size
        ),
        "style": DATASETS.resized(
            wildcards.dataset, wildcards.pair, "style", wildcards.size
        ),
    }


# -- evaluate -----------------------------------------------------------------------------------
def evaluation_files(dataset, method, pair):
    """The output's sidecar (its image beside it) and the content and style it is scored against:
    the images the stylize job read, at the working size, or for a delivered output
    (<method>@<size>) at the delivery size."""
    size = split_delivered(method)[1] or STYLIZE_SIZE
    return {
        "sidecar": STYLIZE_OUTPUT.format(dataset=dataset, method=method, pair=pair),
        "content": DATASETS.resized(dataset, pair, "content", size),
        "style": DATASETS.resized(dataset, pair, "style", size),
    }


def evaluation_inputs(wildcards):
    return evaluation_files(wildcards.dataset, wildcards.method, wildcards.pair)


# evaluate_batch > 1 (profiles/slurm sets it): one job scores that many outputs of a (dataset,
# method), pair-list order, in one process, and each metrics file is then linked from the batch's
# folder to its own path, as for stylize_batch. 1: a job per output, run as soon as it exists.
EVALUATE_BATCH = config.get("evaluate_batch", 1)
METRICS_BATCH_FOLDER = (
    f"{RESULTS}/metrics_batches/{{dataset}}/{{method}}/batch-{{batch}}"
)
METRICS_BATCH_LOG = (
    f"{RESULTS}/logs/evaluate_batch/{{dataset}}/{{method}}/batch-{{batch}}.log"
)


def evaluation_batch_pairs(wildcards):
    return pair_batches(wildcards.dataset, EVALUATE_BATCH)[int(wildcards.batch)]


def evaluation_batch_inputs(wildcards):
    """evaluation_files of each output of the batch, by kind, in the batch's order."""
    files = [
        evaluation_files(wildcards.dataset, wildcards.method, pair)
        for pair in evaluation_batch_pairs(wildcards)
    ]
    return {kind: [each[kind] for each in files] for kind in files[0]}


def evaluation_batch_jobs(wildcards, input, benchmarks):
    """evaluate_batch_job's jobs: each output's files, names and stylize benchmark file (the
    rule's params), its metrics file in the batch's folder."""
    folder = METRICS_BATCH_FOLDER.format(**wildcards)
    return [
        {
            "sidecar": sidecar,
            "out": f"{folder}/{pair}.json",
            "content": content,
            "style": style,
            "dataset": wildcards.dataset,
            "method": wildcards.method,
            "pair_id": pair,
            "benchmark": benchmark,
        }
        for pair, sidecar, content, style, benchmark in zip(
            evaluation_batch_pairs(wildcards),
            input.sidecar,
            input.content,
            input.style,
            benchmarks,
        )
    ]


def metrics_batch_folder(wildcards):
    """The folder of the evaluate batch that scores this output."""
    batch = batch_of(wildcards.dataset, wildcards.pair, EVALUATE_BATCH)
    return METRICS_BATCH_FOLDER.format(
        dataset=wildcards.dataset, method=wildcards.method, batch=batch
    )


def metric_weights_state(settings):
    """The state of the PieAPP weights file the evaluate stage reads, when PieAPP is enabled (one
    stat): as part of the evaluate jobs' params, outputs scored without it are scored again once
    it is there. The file is found as `dtp_bench.metrics.pieapp.weights_path` finds it.
    """
    from dtp_bench.metrics import pieapp
    from dtp_bench.metrics.scorer import settings_with_defaults
    from dtp_core.errors import MethodUnavailable

    merged = settings_with_defaults(settings)
    if "pieapp" not in merged["enabled"]:
        return ""
    try:
        return METHOD_REGISTRY.files_state(
            [pieapp.weights_path(merged["pieapp"]["weights"])]
        )
    except MethodUnavailable as err:
        return f"absent: {err}"


METRICS_SETTINGS = config.get("metrics", {})
METRIC_WEIGHTS_STATE = metric_weights_state(METRICS_SETTINGS)

# -- weights ------------------------------------------------------------------------------------
WEIGHTS_DIR = str(checkpoints.weights_dir())
WEIGHT_METHODS = ("wct", "wct2", "swapping_ae", "cocosnet")
_WEIGHT_FILES = {method: checkpoints.catalogue(method) for method in WEIGHT_METHODS}


def weight_targets(method, fetchable=True):
    return [
        f"{WEIGHTS_DIR}/{method}/{name}"
        for name, info in _WEIGHT_FILES[method].items()
        if info.fetchable == fetchable
    ]


def weight_archive(wildcards):
    """A file that comes out of a zip waits for the zip (one download per method, not per file)."""
    info = _WEIGHT_FILES[wildcards.method].get(wildcards.name)
    if info is not None and info.archive and not info.url:
        return [f"{WEIGHTS_DIR}/.archives/{wildcards.method}.zip"]
    return []


def print_manual_weights():
    """Where each checkpoint file that no rule can fetch (Google Drive folders) goes, and how."""
    for method in WEIGHT_METHODS:
        for path in weight_targets(method, fetchable=False):
            info = _WEIGHT_FILES[method][path.rsplit(f"/{method}/", 1)[1]]
            print(f"{path}: {info.how} ({info.source})")
