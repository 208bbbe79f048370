# The deliver stage (optional): a method's working-size output carried to a larger size.
#
#   <results>/outputs/<dataset>/<method>/<pair>.json  +  data/resized/<size>/...  (content, style)
#     ->  <results>/outputs/<dataset>/<method>@<size>/<pair>.json (+ .png)
#
# Settings: the `delivery:` block of the config (size, methods, upsampler). The delivered output is
# scored by the evaluate stage like any other output, against the content and style at that size,
# and is its own row in the tables. Off when `delivery.size` is null. The upsampler's settings are a
# parameter of the job: changing them re-delivers. Jobs run in-process (`run:`): each is ~a second.
from dtp_bench.deliver_job import deliver_job
from dtp_bench.delivered import delivered_name

DELIVERY = config.get("delivery") or {}
DELIVERY_SIZE = DELIVERY.get("size")
DELIVERY_METHODS = DELIVERY.get("methods", []) if DELIVERY_SIZE else []
_unconfigured = [m for m in DELIVERY_METHODS if m not in config["methods"]]
if _unconfigured:  # a delivered row needs the method's own outputs
    raise ValueError(f"delivery.methods: {', '.join(_unconfigured)} is not under `methods:` in this config; "
                     "add it there, or remove it from delivery.methods")


def delivered_methods():
    """(delivered name, method) for each method delivered at DELIVERY_SIZE."""
    return [(delivered_name(method, DELIVERY_SIZE), method) for method in DELIVERY_METHODS]


def delivery_inputs(wildcards):
    return {
        "sidecar": f"{RESULTS}/outputs/{wildcards.dataset}/{wildcards.method}/{wildcards.pair}.json",
        "content": DATASETS.resized(wildcards.dataset, wildcards.pair, "content", wildcards.size),
        "style": DATASETS.resized(wildcards.dataset, wildcards.pair, "style", wildcards.size),
    }


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
        deliver_job(input.sidecar, input.content, input.style, output[0], params.upsampler, log[0])
