"""Histogram matching: each RGB channel of the content remapped so that its histogram equals the
style's (scikit-image `exposure.match_histograms`, channel by channel). A classical colour
transfer reference; no weights, milliseconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.exposure import match_histograms

from dtp_core.images import to_tensor, to_uint8
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig


@dataclass(frozen=True)
class HistogramConfig(BaselineConfig):
    pass


def match_rgb_histograms(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """(H, W, 3) arrays -> the content with each channel's histogram matched to the style's (float)."""
    return match_histograms(content, style, channel_axis=-1)


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: HistogramConfig = HistogramConfig(),
            device="cpu", seed: int | None = None, progress: bool | None = None) -> StylizeResult:
    device, seed = runs.start(content, style, config, "cpu", seed)  # numpy: always the CPU
    with Meter(device) as meter:
        # On 8-bit values, as the images are stored: the match maps each content level to a style level.
        matched = match_rgb_histograms(to_uint8(content), to_uint8(style))
        output = to_tensor(np.clip(np.round(matched), 0, 255).astype(np.uint8))
    facts = runs.facts("histogram", config, seed=seed, content=content, style=style, meter=meter, device=device)
    return StylizeResult(image=output, facts=facts)
