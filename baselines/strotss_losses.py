"""The losses of STROTSS (Kolkin, Salavon & Shakhnarovich, "Style Transfer by Relaxed Optimal
Transport and Self-Similarity", CVPR 2019), on sets of hypercolumns: (N, D) matrices, one row per
sampled position.

- relaxed EMD (paper Eq. 2-4): each set's mean distance to its nearest neighbour in the other,
  the larger of the two (a lower bound of the earth mover's distance that needs no transport plan);
- self-similarity content loss (Eq. 5): the output's matrix of pairwise distances, each column
  normalised to sum 1, against the content's;
- moment matching (Eq. 6): means and covariances;
- the palette term: relaxed EMD on the colour channels in a YUV-like space, with cosine plus
  Euclidean distances.
Constants and normalisations follow the authors' code (nkolkin13/STROTSS, `contextual_loss.py`).
"""

from __future__ import annotations

import torch

EPS = 1e-8  # only matters for an all-zero hypercolumn

# The authors' orthonormal "YUV": luminance (R + G + B) / sqrt(3) and two opponent axes.
RGB_TO_YUV = torch.tensor([[0.577350, 0.577350, 0.577350],
                           [-0.577350, 0.788675, -0.211325],
                           [-0.577350, -0.211325, 0.788675]])


def cosine_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, D), (M, D) -> (N, M): 1 - cosine similarity."""
    x = x / x.norm(dim=1, keepdim=True).clamp_min(EPS)
    y = y / y.norm(dim=1, keepdim=True).clamp_min(EPS)
    return 1 - x @ y.T


def euclidean_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, D), (M, D) -> (N, M): root of the mean squared difference per dimension (the authors'
    clamp to [1e-5, 1e5] keeps the root's gradient finite at zero distance)."""
    squared = (x * x).sum(1, keepdim=True) + (y * y).sum(1)[None] - 2 * x @ y.T
    return (squared.clamp(1e-5, 1e5) / x.shape[1]).sqrt()


def relaxed_emd(x: torch.Tensor, y: torch.Tensor, cost: torch.Tensor | None = None) -> torch.Tensor:
    """max(mean_i min_j C_ij, mean_j min_i C_ij) for the cost matrix C of x (N, D) vs y (M, D)
    (cosine distances unless `cost` is given)."""
    cost = cosine_distances(x, y) if cost is None else cost
    return torch.maximum(cost.min(dim=1).values.mean(), cost.min(dim=0).values.mean())


def palette_emd(x_rgb: torch.Tensor, y_rgb: torch.Tensor) -> torch.Tensor:
    """Relaxed EMD of colours (N, 3), (M, 3) in YUV, with cosine plus Euclidean cost."""
    yuv = RGB_TO_YUV.to(x_rgb)
    x, y = x_rgb @ yuv.T, y_rgb @ yuv.T
    return relaxed_emd(x, y, cosine_distances(x, y) + euclidean_distances(x, y))


def self_similarity_loss(x: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Content loss: the column-normalised cosine-distance matrices of the output's and the
    content's hypercolumns (same positions, (N, D) each), mean absolute difference times N."""
    dx = cosine_distances(x, x)
    dc = cosine_distances(content, content)
    dx = dx / dx.sum(dim=0, keepdim=True).clamp_min(EPS)
    dc = dc / dc.sum(dim=0, keepdim=True).clamp_min(EPS)
    return (dx - dc).abs().mean() * x.shape[0]


def moments(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (1, D) and covariance (D, D) of the rows of y (N, D); divided by N as the authors do."""
    mean = y.mean(dim=0, keepdim=True)
    centred = y - mean
    return mean, centred.T @ centred / y.shape[0]


def moment_loss(x: torch.Tensor, target_moments: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean absolute difference of the means plus that of the covariances (target precomputed)."""
    mean, cov = moments(x)
    target_mean, target_cov = target_moments
    return (mean - target_mean).abs().mean() + (cov - target_cov).abs().mean()
