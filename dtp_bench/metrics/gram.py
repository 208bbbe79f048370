"""Style distance: how far the output's VGG-16 feature statistics are from the style's (lower is better).

For each tapped layer l (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3) with features F (C x HW):
  "gram":       G = F F^T / HW                      (Gatys et al. 2016's style representation)
  "covariance": G = (F - mean) (F - mean)^T / HW    (the second-order statistics WCT matches)
and d_l = ||G_out - G_style||_F / ||G_style||_F, a relative error, so that layers whose activations
differ by orders of magnitude weigh alike; the score is the mean of d_l over the layers. 0 = the
style's own statistics; an unrelated photo typically scores 0.6-1.2, the style mirrored ~0.4
(VGG's filters are not mirror-symmetric).

The paper's metrics (SSIM, PieAPP) compare the output with the content only; this and the colour
histogram distance measure the other half of the task.
"""

from __future__ import annotations

import torch

from dtp_core.images import normalize

from .inputs import check_images

KINDS = ("gram", "covariance")
_EPS = 1e-12


def feature_statistics(features: torch.Tensor, kind: str) -> torch.Tensor:
    """(N, C, H, W) features -> (N, C, C) Gram or covariance matrices, normalised by H*W."""
    if kind not in KINDS:
        raise ValueError(f"style statistic must be one of {KINDS}, got {kind!r}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    if kind == "covariance":
        flat = flat - flat.mean(dim=2, keepdim=True)
    return flat @ flat.transpose(1, 2) / (h * w)


def relative_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a - b||_F / ||b||_F per batch item, for (N, C, C) matrices."""
    return (a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1).clamp_min(_EPS)


def style_distance(x: torch.Tensor, style: torch.Tensor, encoder, kind: str = "gram") -> torch.Tensor:
    """Mean relative Gram (or covariance) distance over the encoder's taps, per image (N,).

    `x`, `style`: (N, 3, H, W) in [0, 1] (sizes may differ: the statistics are per position)."""
    check_images(x, x, names=("output", "output"))
    check_images(style, style, names=("style", "style"))
    with torch.no_grad():
        feats_x = encoder(normalize(x))
        feats_s = encoder(normalize(style))
        per_layer = [relative_distance(feature_statistics(fx, kind), feature_statistics(fs, kind))
                     for fx, fs in zip(feats_x, feats_s)]
    return torch.stack(per_layer, dim=1).mean(dim=1)
