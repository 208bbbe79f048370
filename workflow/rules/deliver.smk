# The deliver stage (optional): a method's working-size output carried to a larger size.
#
#   <results>/outputs/<dataset>/<method>/<pair>.json (+ .png)  +  the content at the working size
#   +  data/resized/<size>/...  (content, style)
#     ->  <results>/outputs/<dataset>/<method>@<size>/<pair>.json (+ .png)
#
# Settings: the `delivery:` block of the config (size, methods, upsampler). The delivered output
# is scored by the evaluate stage like any other output, against the content and style at that
# size, and is its own row in the tables. Off when `delivery.size` is null. The upsampler's
# settings are a parameter of the job: changing them re-delivers. Jobs run in-process (`run:`):
# each is ~a second. Helpers: common.smk ("deliver").
from dtp_bench.deliver_job import deliver_job

# fmt: off
# (Kept as written: Snakemake reruns a job whose `run:` code changed by a character.)
rule deliver:
    wildcard_constraints:
        method="[^/@]+",
        size="[0-9]+x[0-9]+|long[0-9]+",
    input:
        unpack(delivery_inputs),
    output:
        f"{RESULTS}/outputs/{{dataset}}/{{method}}@{{size}}/{{pair}}.json",
    log:
        f"{RESULTS}/logs/deliver/{{dataset}}/{{method}}@{{size}}/{{pair}}.log",
    params:
        upsampler=DELIVERY.get("upsampler", {}),
    run:
        deliver_job(input.sidecar, input.working_content, input.content, input.style, output[0], params.upsampler, log[0])
# fmt: on
