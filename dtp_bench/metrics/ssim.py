"""SSIM between a stylised output and its content (the paper's Table 1 metric; higher is better).

Conventions differ by up to 0.26 on the same pair (window, downsampling, data range, colour), and
the paper states none, so the convention is a value (`SSIMConvention`), set in the config and
printed with every table. Computed with `piq.ssim`; `skimage_kwargs` gives the arguments that make
`skimage.metrics.structural_similarity` compute the same number (a test checks they agree).

Reference: Wang, Bovik, Sheikh, Simoncelli (2004), Image quality assessment: from error
visibility to structural similarity, IEEE TIP 13(4).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import piq
import torch

from .inputs import check_images

# ITU-R BT.601 luma, as MATLAB's rgb2gray (the usual "SSIM on grey" reading).
BT601 = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class SSIMConvention:
    kernel_size: int = 11        # Gaussian window side (odd)
    kernel_sigma: float = 1.5
    downsample: bool = True      # Wang's rule: average-pool by round(min(H, W) / 256) first (a no-op at 256 px)
    colour: str = "rgb"          # "rgb": SSIM per channel, averaged; "luma": on BT.601 Y only
    data_range: float = 1.0      # images in [0, 1]
    k1: float = 0.01
    k2: float = 0.03

    def __post_init__(self):
        if not (isinstance(self.kernel_size, int) and self.kernel_size >= 3 and self.kernel_size % 2 == 1):
            raise ValueError(f"ssim.kernel_size must be an odd integer >= 3, got {self.kernel_size!r}")
        if not self.kernel_sigma > 0:
            raise ValueError(f"ssim.kernel_sigma must be > 0, got {self.kernel_sigma!r}")
        if self.colour not in ("rgb", "luma"):
            raise ValueError(f"ssim.colour must be 'rgb' or 'luma', got {self.colour!r}")
        if self.data_range != 1.0:
            raise ValueError(f"ssim.data_range must be 1.0 (images are scored in [0, 1]), got {self.data_range!r}")

    @classmethod
    def from_dict(cls, values: dict | None) -> "SSIMConvention":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values or {}) - known)
        if unknown:
            raise ValueError(f"metrics.ssim.{unknown[0]} is not an SSIM setting; use one of {sorted(known)}")
        return cls(**(values or {}))

    def describe(self) -> str:
        colour = "per RGB channel, averaged" if self.colour == "rgb" else "on BT.601 luma"
        down = "avg-pooled by round(min(H,W)/256) first" if self.downsample else "no downsampling"
        return (f"SSIM (piq {piq.__version__}): Gaussian window {self.kernel_size}x{self.kernel_size}, "
                f"sigma {self.kernel_sigma}, {down}, {colour}, data range {self.data_range}, "
                f"K1 {self.k1}, K2 {self.k2}, valid (unpadded) window positions")


def to_luma(image: torch.Tensor) -> torch.Tensor:
    weights = image.new_tensor(BT601).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def ssim(x: torch.Tensor, y: torch.Tensor, convention: SSIMConvention = SSIMConvention()) -> torch.Tensor:
    """SSIM per image, shape (N,). `x`, `y`: (N, 3, H, W) in [0, 1]. Higher is better, 1 = identical.

    Computed in float64: in float32 piq and skimage differ by ~3e-6, in float64 by ~1e-16."""
    check_images(x, y)
    x, y = x.double(), y.double()
    if convention.colour == "luma":
        x, y = to_luma(x), to_luma(y)
    return piq.ssim(x, y, kernel_size=convention.kernel_size, kernel_sigma=convention.kernel_sigma,
                    data_range=convention.data_range, reduction="none", downsample=convention.downsample,
                    k1=convention.k1, k2=convention.k2)


def skimage_kwargs(convention: SSIMConvention) -> dict:
    """Arguments for `skimage.metrics.structural_similarity` that reproduce `ssim` (before any
    downsampling, which skimage does not do): Gaussian weights truncated at 3.5 sigma give the same
    window when kernel_size = 2 * int(3.5 * sigma + 0.5) + 1, population (not sample) covariance."""
    radius = int(3.5 * convention.kernel_sigma + 0.5)
    if 2 * radius + 1 != convention.kernel_size:
        raise ValueError(f"skimage's Gaussian window for sigma {convention.kernel_sigma} is {2 * radius + 1} px, "
                         f"not {convention.kernel_size}: no skimage configuration matches")
    kwargs = dict(gaussian_weights=True, sigma=convention.kernel_sigma, use_sample_covariance=False,
                  data_range=convention.data_range, K1=convention.k1, K2=convention.k2)
    if convention.colour == "rgb":
        kwargs["channel_axis"] = -1
    return kwargs
