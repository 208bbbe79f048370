# The checkpoint methods' released files (WCT, WCT2, Swapping AE, CoCosNet), fetched on a machine
# that reaches their hosts. Not part of `all`: without them the methods' cells say "unavailable:
# needs FILE from URL", and `snakemake -- weights` (or weights_<method>) fetches what can be fetched.
# Files that only exist in a Google Drive folder cannot be fetched by a rule; `weights_manual`
# prints where each goes.
import sys

from baselines import checkpoints as _ckpt

WEIGHTS_DIR = str(_ckpt.weights_dir())
WEIGHT_METHODS = ("wct", "wct2", "swapping_ae", "cocosnet")
_WEIGHT_FILES = {method: _ckpt.catalogue(method) for method in WEIGHT_METHODS}


def weight_targets(method, fetchable=True):
    return [f"{WEIGHTS_DIR}/{method}/{name}" for name, info in _WEIGHT_FILES[method].items()
            if info.fetchable == fetchable]


def _archive(wildcards):
    """A file that comes out of a zip waits for the zip (one download per method, not per file)."""
    info = _WEIGHT_FILES[wildcards.method].get(wildcards.name)
    return [f"{WEIGHTS_DIR}/.archives/{wildcards.method}.zip"] if info is not None and info.archive and not info.url else []


rule fetch_weight_archive:
    output:
        f"{WEIGHTS_DIR}/.archives/{{method}}.zip",
    wildcard_constraints:
        method="|".join(WEIGHT_METHODS),
    log:
        "logs/weights/{method}.archive.log",
    shell:
        f"{sys.executable} -m baselines.checkpoints {{wildcards.method}} --archive {{output:q}} > {{log:q}} 2>&1"


rule fetch_weight:
    input:
        _archive,
    output:
        f"{WEIGHTS_DIR}/{{method}}/{{name}}",
    wildcard_constraints:
        method="|".join(WEIGHT_METHODS),
        name=r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.[A-Za-z0-9.]+",
    log:
        "logs/weights/{method}/{name}.log",
    params:
        archive=lambda wildcards, input: f"--archive {input[0]}" if input else "",
    shell:
        f"{sys.executable} -m baselines.checkpoints {{wildcards.method}} {{wildcards.name:q}} --dir {WEIGHTS_DIR} "
        "{params.archive} > {log:q} 2>&1"


for _method in WEIGHT_METHODS:
    rule:
        name:
            f"weights_{_method}"
        input:
            weight_targets(_method),


rule weights:
    input:
        [weight_targets(method) for method in WEIGHT_METHODS],


rule weights_manual:
    log:
        "logs/weights/manual.log",
    run:
        for method in WEIGHT_METHODS:
            for path in weight_targets(method, fetchable=False):
                info = _WEIGHT_FILES[method][path.rsplit(f"/{method}/", 1)[1]]
                print(f"{path}: {info.how} ({info.source})")


def metric_weights_state(settings):
    """The state of the PieAPP weights file the evaluate stage reads, when PieAPP is enabled (one
    stat): as part of the evaluate jobs' params, outputs scored without it are scored again once it
    is there. The file is found as `dtp_bench.metrics.pieapp.weights_path` finds it."""
    from dtp_bench.methods import files_state
    from dtp_bench.metrics import pieapp
    from dtp_bench.metrics.scorer import settings_with_defaults
    from dtp_core.errors import MethodUnavailable

    merged = settings_with_defaults(settings)
    if "pieapp" not in merged["enabled"]:
        return ""
    try:
        return files_state([pieapp.weights_path(merged["pieapp"]["weights"])])
    except MethodUnavailable as err:
        return f"absent: {err}"


METRIC_WEIGHTS_STATE = metric_weights_state(config.get("metrics", {}))
