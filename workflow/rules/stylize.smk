# The stylize stage: one output per (dataset, method, pair).
#
#   data/resized/<size>/...  ->  <results>/outputs/<dataset>/<method>/<pair>.{json,png,loss.csv,...}
#
# The sidecar .json is the job's output and its completion marker (written last, atomically);
# it records status ok | unavailable | failed with the reason, so that one method failing on one
# pair marks that cell and lets the rest of the table finish. Methods and their parameters come
# from `methods:` in the config. A finished output that the config would now make otherwise
# (another size, other parameters) is never replaced: the run stops first and says so
# (output_guard, at the end of this file).
# Jobs that want a GPU declare `resources: gpu=1`; the job claims a free device itself
# (dtp_bench/gpu_claim.py), so `--resources gpu=N` on an N-GPU machine runs N jobs at once. On
# SLURM (profiles/slurm) the same jobs go to the GPU partition and the others to the CPU one
# (`slurm_partition`, common.smk); a CPU method's job asks for no GPU, and neither does any job
# with `device: cpu` or, run locally under `device: auto`, on a machine without a CUDA GPU (so a
# CPU box runs as many of them at once as its cores allow: common.smk, gpu_within_reach).
#
# Nothing stale (docs/refusals.md, "Reruns: nothing stale"): Snakemake reruns a job whose params
# changed since it last ran, so the params also carry (a) the state of each checkpoint file the
# method looks for (a cell unavailable for want of one reruns once it is there) and (b) a token
# that is new while the job's sidecar says failed (a failed cell reruns at the next invocation).
# With `--retries N` a failing job exits non-zero while attempts remain, and records `failed`
# (exit 0, the tables still get written) on the last one; an unavailable cell is recorded at once.
#
# With `batch_pairs: B` > 1, a method that can (DTP) trains B pairs of a dataset as one
# computation (dtp_core.batched): one `stylize_batch` job per group of B pairs, in pair-list order,
# writes the group's files into <results>/batches/<dataset>/<method>/batch-<i>/, and
# `stylize_from_batch` links each pair's files from there to the pair's own output path. The
# batch's `benchmark:` file is the one the evaluate stage reads for each of its pairs
# (common.smk, stylize_benchmark).
#
# Helpers: common.smk ("stylize").


rule stylize:
    input:
        unpack(stylize_inputs),
    output:
        STYLIZE_OUTPUT,
    log:
        STYLIZE_LOG,
    benchmark:
        STYLIZE_BENCHMARK
    wildcard_constraints:
        method=unbatched_method_pattern(),
    conda:
        SOFTWARE
    threads: THREADS_PER_JOB
    resources:
        gpu=uses_gpu,
        slurm_partition=slurm_partition,
        attempt=lambda wildcards, attempt: attempt,
        attempts=attempts("stylize"),
    params:
        method_params=stylize_params,
        png=lambda wildcards, output: output[0][: -len(".json")] + ".png",
        device=config.get("device", "auto"),
        weights=weights_state,
        retry_of=retry_of([STYLIZE_OUTPUT]),
    shell:
        job_shell(
            "--method {wildcards.method:q} --content {input.content:q} --style {input.style:q}"
            " --out {params.png:q} --params {params.method_params:q} --device {params.device:q}"
            " --threads {threads} --dataset {wildcards.dataset:q} --pair-id {wildcards.pair:q}"
        )


rule stylize_batch:
    input:
        unpack(batch_inputs),
    output:
        directory(BATCH_FOLDER),
    log:
        BATCH_LOG,
    benchmark:
        BATCH_BENCHMARK
    wildcard_constraints:
        method=batched_method_pattern(),
        batch="[0-9]+",
    conda:
        SOFTWARE
    threads: THREADS_PER_JOB
    resources:
        gpu=uses_gpu,
        slurm_partition=slurm_partition,
        attempt=lambda wildcards, attempt: attempt,
        attempts=attempts("stylize_batch"),
    params:
        method_params=lambda wildcards: method_params(wildcards.method),
        batch=batch_arguments,
        device=config.get("device", "auto"),
        retry_of=batch_retry_of,
    shell:
        job_shell(
            "--method {wildcards.method:q} {params.batch} --params {params.method_params:q}"
            " --device {params.device:q} --threads {threads} --dataset {wildcards.dataset:q}"
        )


rule stylize_from_batch:
    input:
        batch_folder,
    output:
        STYLIZE_OUTPUT,
    log:
        STYLIZE_LOG,
    wildcard_constraints:
        method=batched_method_pattern(),
    localrule: True
    run:
        link_from_batch(input[0], output[0], log[0])


# Nothing overwritten: a finished output made from other inputs (another size) or other
# parameters stops the run here, before any job, rather than being replaced by Snakemake's rerun.
output_guard.refuse_replacing(planned_outputs(), RESULTS)
