# The checkpoint methods' released files (WCT, WCT2, Swapping AE, CoCosNet), fetched on a machine
# that reaches their hosts. Not part of `all`: without them the methods' cells say "unavailable:
# needs FILE from URL", and `snakemake -- weights` (or weights_<method>) fetches what can be
# fetched. Files that only exist in a Google Drive folder cannot be fetched by a rule;
# `weights_manual` prints where each goes.
# The fetch rules are local rules: they need the internet, which a cluster's compute nodes often
# lack; on SLURM they run on the submit host (profiles/slurm). Helpers: common.smk ("weights").


rule fetch_weight_archive:
    output:
        f"{WEIGHTS_DIR}/.archives/{{method}}.zip",
    log:
        "logs/weights/{method}.archive.log",
    wildcard_constraints:
        method="|".join(WEIGHT_METHODS),
    localrule: True
    conda:
        SOFTWARE
    shell:
        f"{PYTHON} -m baselines.checkpoints {{wildcards.method}} --archive {{output:q}} > {{log:q}} 2>&1"


rule fetch_weight:
    input:
        weight_archive,
    output:
        f"{WEIGHTS_DIR}/{{method}}/{{name}}",
    log:
        "logs/weights/{method}/{name}.log",
    wildcard_constraints:
        method="|".join(WEIGHT_METHODS),
        name=r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.[A-Za-z0-9.]+",
    localrule: True
    conda:
        SOFTWARE
    params:
        archive=lambda wildcards, input: f"--archive {input[0]}" if input else "",
    shell:
        f"{PYTHON} -m baselines.checkpoints {{wildcards.method}} {{wildcards.name:q}} --dir {WEIGHTS_DIR} "
        "{params.archive} > {log:q} 2>&1"


rule weights_wct:
    input:
        weight_targets("wct"),


rule weights_wct2:
    input:
        weight_targets("wct2"),


rule weights_swapping_ae:
    input:
        weight_targets("swapping_ae"),


rule weights_cocosnet:
    input:
        weight_targets("cocosnet"),


rule weights:
    input:
        [weight_targets(method) for method in WEIGHT_METHODS],


rule weights_manual:
    log:
        "logs/weights/manual.log",
    localrule: True
    run:
        print_manual_weights()
