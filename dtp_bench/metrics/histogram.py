"""Colour distance: chi-square distance between the output's and the style's colour histograms
in CIELAB (lower is better; 0 = the same colour distribution, 1 = disjoint).

Per channel (L in [0, 100], a and b in [-128, 128]) a histogram of `bins` bins is normalised to sum
1; chi2(p, q) = 1/2 * sum (p - q)^2 / (p + q) over non-empty bins, in [0, 1]; the score is the mean
over the three channels. Lab separates lightness from colour, so a colour transfer that keeps the
content's lighting still shows its a/b match.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2lab

from .inputs import check_images

LAB_RANGES = ((0.0, 100.0), (-128.0, 128.0), (-128.0, 128.0))


def lab_histograms(image: torch.Tensor, bins: int) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (3, bins) normalised Lab histograms."""
    lab = rgb2lab(image.detach().cpu().permute(1, 2, 0).double().numpy())
    hists = [np.histogram(lab[..., c], bins=bins, range=LAB_RANGES[c])[0] for c in range(3)]
    hists = np.asarray(hists, dtype=np.float64)
    return hists / hists.sum(axis=1, keepdims=True)


def chi_square(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Symmetric chi-square distance along the last axis, for normalised histograms (in [0, 1])."""
    total = p + q
    safe = np.where(total > 0, total, 1.0)
    return 0.5 * np.where(total > 0, (p - q) ** 2 / safe, 0.0).sum(axis=-1)


def histogram_distance(x: torch.Tensor, style: torch.Tensor, bins: int = 64) -> torch.Tensor:
    """Mean Lab chi-square distance per image (N,). `x`, `style`: (N, 3, H, W) in [0, 1]; sizes may differ."""
    check_images(x, x, names=("output", "output"))
    check_images(style, style, names=("style", "style"))
    if x.shape[0] != style.shape[0]:
        raise ValueError(f"output batch {x.shape[0]} and style batch {style.shape[0]} differ")
    if not (isinstance(bins, int) and bins >= 2):
        raise ValueError(f"histogram bins must be an integer >= 2, got {bins!r}")
    scores = [chi_square(lab_histograms(a, bins), lab_histograms(b, bins)).mean() for a, b in zip(x, style)]
    return torch.tensor(scores, dtype=torch.float64)
