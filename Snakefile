# dtp-bench: Deep Translation Prior and the methods it is compared with, from public images to Table 1.
#
#   snakemake --cores 4 --resources gpu=1 -- all          (paper protocol, config/config.yaml)
#   snakemake --cores 2 --configfile config/quick.yaml    (a small CPU check)
#
# Note: with Snakemake 9, a target written right after `--resources ...` is swallowed by it; put
# `--` before targets, or rely on `all` being the default target (it is the first rule).

configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


rule all:
    input:
        lambda wildcards: ALL_TARGETS,
    default_target: True


for _rules in RULE_FILES:
    include: _rules
