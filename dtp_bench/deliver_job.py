"""The workflow's deliver job: a method's working-size output carried to a larger size.

    results/outputs/<dataset>/<method>/<pair>.json + .png   (working size, e.g. 256x256)
      -> results/outputs/<dataset>/<method>@<size>/<pair>.json + .png   (e.g. 1024x1024)

The delivered output is an output like any other: the evaluate stage scores it against the
content and style at the delivery size, and the tables show it as its own row ("DTP, lambda_c =
1/5, delivered at 1024x1024"). An output that is unavailable or failed is delivered as that
status with its reason, so its cell says why.
"""

from __future__ import annotations

import json
from pathlib import Path

from dtp_core.fullres import deliver_full_res, load_full_size
from dtp_core.images import load_image, to_tensor
from dtp_core.method import StylizeResult
from dtp_core.outputs import save_result, save_status
from dtp_core.upsample import UpsamplerConfig

def deliver_job(sidecar_file, content_working, content_full, style_full, out_json, upsampler: dict, log) -> dict:
    """Deliver one output; returns the new sidecar. `content_working`: the content the output was
    made from (the stylize job's input, a declared input here, not a path read back from the
    sidecar). A line per job goes to `log`."""
    sidecar_file, out_json = Path(sidecar_file), Path(out_json)
    working = json.loads(sidecar_file.read_text())
    inputs = {"content_file": str(content_full), "style_file": str(style_full), "delivered_from": str(sidecar_file)}
    facts = {key: value for key, value in working.items() if key not in ("status", "reason", "files")}
    if working.get("status") != "ok":
        record = save_status(out_json, working.get("status", "failed"), working.get("reason", ""), {**facts, **inputs})
    else:
        content_small = to_tensor(load_image(content_working))
        output_small = to_tensor(load_image(sidecar_file.with_suffix(".png")))
        result = deliver_full_res(StylizeResult(image=output_small, facts=facts), content_small,
                                  load_full_size(content_full), UpsamplerConfig(**upsampler))
        record = save_result(result, out_json.with_suffix(".png"), extra_facts=inputs)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    delivered = record.get("full_res", {})
    Path(log).write_text(f"{out_json}: {record['status']} {record.get('reason', '')} "
                         f"{delivered.get('working_shape')} -> {delivered.get('output_shape')} "
                         f"in {delivered.get('seconds')} s\n")
    return record
