"""Deliver a working-size result at the content's own size: train small, output full size.

Any method's result works (DTP's or a baseline's): its working-size image is carried to the
full-size content by the edge-aware local affine upsampler (`dtp_core.upsample`). The result keeps
the working-size image as the extra `working` (written as `OUT.working.png`), its snapshots and
warped image stay at the working size, and its facts gain a `full_res` record: working and output
shapes, the upsampler and its parameters, and the seconds it took.

    content, style = load_pair("content.jpg", "style.jpg", size=256)
    result = stylize(content, style, config=preset("dtp_lc1_5"))
    full = deliver_full_res(result, content, load_full_size("content.jpg"))
"""

from __future__ import annotations

import dataclasses
import time

import torch

from .images import load_image, to_tensor
from .method import StylizeResult
from .records import peak_rss_mib
from .upsample import UpsamplerConfig, upsample

UPSAMPLER = "local affine colour (guided-filter form, regularised to the global fit)"


def load_full_size(path) -> torch.Tensor:
    """The content at its own size and orientation (EXIF applied), (1, 3, H, W) in [0, 1]."""
    return to_tensor(load_image(path))


def deliver_full_res(result: StylizeResult, content_small: torch.Tensor, content_full: torch.Tensor,
                     config: UpsamplerConfig = UpsamplerConfig()) -> StylizeResult:
    """`result` (made from `content_small`) carried to the size of `content_full`."""
    start = time.perf_counter()
    image = upsample(content_small, result.image, content_full, config)
    seconds = time.perf_counter() - start
    full_res = {
        "working_shape": list(result.image.shape[-2:]),
        "output_shape": list(image.shape[-2:]),
        "upsampler": UPSAMPLER,
        "upsampler_parameters": config.to_dict(),
        "seconds": round(seconds, 3),
        "peak_rss_mib_after": round(peak_rss_mib(), 1),
    }
    return dataclasses.replace(result, image=image, facts={**result.facts, "full_res": full_res},
                               extras={**result.extras, "working": result.image})
