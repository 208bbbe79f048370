"""Reinhard, Ashikhmin, Gooch & Shirley, "Color Transfer between Images", IEEE CG&A 2001.

Each channel of the content, in a decorrelated opponent colour space, is shifted and scaled to
the style's mean and standard deviation (paper Eq. 5-6); then back to RGB.

Default space: the paper's l-alpha-beta (Ruderman et al.'s, reached through LMS cone space and a
log, paper Eq. 1-4). `space="cielab"` gives the common CIE L*a*b* variant (scikit-image's
conversion). In l-alpha-beta, black pixels have no logarithm: LMS values are floored at one 8-bit
level (1/255) so that they stay finite without dominating the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage import color

from dtp_core.images import to_uint8
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig, require

# Paper Eq. 1 (RGB -> LMS) and Eq. 4 (log LMS -> l-alpha-beta).
RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402],
                       [0.1967, 0.7244, 0.0782],
                       [0.0241, 0.1288, 0.8444]])
LOG_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array([[1, 1, 1],
                                                                                       [1, 1, -2],
                                                                                       [1, -1, 0]])
LMS_FLOOR = 1 / 255


@dataclass(frozen=True)
class ReinhardConfig(BaselineConfig):
    space: str = "lalphabeta"   # "lalphabeta" (paper) or "cielab"

    def __post_init__(self):
        require(self.space in ("lalphabeta", "cielab"), "space", f"must be 'lalphabeta' or 'cielab', got {self.space!r}")


def rgb_to_lalphabeta(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> l-alpha-beta."""
    lms = np.maximum(rgb @ RGB_TO_LMS.T, LMS_FLOOR)
    return np.log10(lms) @ LOG_LMS_TO_LAB.T


def lalphabeta_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_lalphabeta` (exact for colours whose LMS values are above the floor)."""
    lms = 10.0 ** (lab @ np.linalg.inv(LOG_LMS_TO_LAB).T)
    return lms @ np.linalg.inv(RGB_TO_LMS).T


def match_mean_std(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shift and scale each channel of `source` (..., C) to `target`'s mean and std (paper Eq. 5-6).

    A constant source channel (std 0) keeps its offset from the mean: it takes the target's mean.
    """
    axes = tuple(range(source.ndim - 1))
    src_mean, src_std = source.mean(axis=axes), source.std(axis=axes)
    tgt_mean, tgt_std = target.mean(axis=axes), target.std(axis=axes)
    scale = np.divide(tgt_std, src_std, out=np.zeros_like(src_std), where=src_std > 0)
    return (source - src_mean) * scale + tgt_mean


def reinhard_transfer(content: np.ndarray, style: np.ndarray, space: str = "lalphabeta") -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] -> the content with the style's colour statistics (RGB, unclipped)."""
    if space == "lalphabeta":
        return lalphabeta_to_rgb(match_mean_std(rgb_to_lalphabeta(content), rgb_to_lalphabeta(style)))
    return color.lab2rgb(match_mean_std(color.rgb2lab(content), color.rgb2lab(style)))


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: ReinhardConfig = ReinhardConfig(),
            device="cpu", seed: int | None = None, progress: bool | None = None) -> StylizeResult:
    device, seed = runs.start(content, style, config, "cpu", seed)  # numpy: always the CPU
    with Meter(device) as meter:
        # The 8-bit values the images are stored as, so that the result does not depend on the caller.
        rgb = reinhard_transfer(to_uint8(content) / 255.0, to_uint8(style) / 255.0, config.space)
        output = runs.to_rgb(torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None])
    facts = runs.facts("reinhard", config, seed=seed, content=content, style=style, meter=meter, device=device)
    return StylizeResult(image=output, facts=facts)
