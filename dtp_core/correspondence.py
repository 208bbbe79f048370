"""Correspondence module: cosine correlation of 3x3 feature patches and the soft warps it defines.

Each direction's softmax is computed once per iteration and reused by every warp that goes that
way (the authors recompute it in each of their eight calls); features and images travelling the
same way are warped in one matrix product.

Above `chunk` positions (high-resolution runs) the correlation is never held whole: each warp is
attention computed over row chunks and recomputed in the backward pass, so memory grows linearly
with the number of positions (time still grows with its square).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

EPS = sys.float_info.epsilon  # the authors' epsilon (added to norms; only matters for all-zero vectors)


def center_l2_normalize(x: torch.Tensor, dim: int, center_dim: int | None = None) -> torch.Tensor:
    """Subtract the mean over `center_dim` (default: `dim`), then L2-normalise along `dim`."""
    x = x - x.mean(dim=dim if center_dim is None else center_dim, keepdim=True)
    return x / (x.norm(p=2, dim=dim, keepdim=True) + EPS)


def correlation_grid(height: int, width: int, limit: int) -> tuple[int, int]:
    """The grid the correspondence runs on: the map itself, or resized to fit `limit` (the authors
    resize anything above 64x64 to 64x64; a non-square map keeps its aspect ratio). 0: no limit."""
    if limit == 0 or max(height, width) <= limit:
        return height, width
    if height == width:
        return limit, limit
    scale = limit / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def to_grid(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    return x if tuple(x.shape[-2:]) == tuple(grid) else F.interpolate(x, size=grid, mode="bilinear")


def patch_vectors(feature: torch.Tensor, kernel: int, center: str = "vector") -> torch.Tensor:
    """(B, C, H, W) -> (B, C*k*k, H*W): zero-padded k x k patches, centred and L2-normalised.

    center="vector" centres each patch vector by its own mean (the authors' code); "spatial"
    centres each dimension by its mean over positions (the paper's Eq. 7).
    """
    patches = F.unfold(feature, kernel_size=kernel, padding=kernel // 2) if kernel > 1 else feature.flatten(2)
    return center_l2_normalize(patches, dim=1, center_dim=1 if center == "vector" else 2)


@dataclass
class Correspondence:
    """Soft matches between a content grid and a style grid.

    `to_content[b, i, j]`: weight of style position j for content position i (rows sum to one);
    `to_style[b, j, i]`: weight of content position i for style position j (rows sum to one).
    """

    to_content: torch.Tensor  # (B, Nc, Ns)
    to_style: torch.Tensor    # (B, Ns, Nc)
    content_grid: tuple[int, int]
    style_grid: tuple[int, int]

    def warp_to_content(self, x: torch.Tensor) -> torch.Tensor:
        """Warp a style-grid map (B, C, hs, ws) onto the content grid."""
        return _apply(self.to_content, x, self.content_grid)

    def warp_to_style(self, x: torch.Tensor) -> torch.Tensor:
        """Warp a content-grid map (B, C, hc, wc) onto the style grid."""
        return _apply(self.to_style, x, self.style_grid)


def _apply(weights: torch.Tensor, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    # (B, C, N_src) @ (B, N_src, N_dst) = (B, C, N_dst): the transposed view costs no copy. Under
    # autocast this product (and its backward, the largest matrix products of an iteration after
    # the correlation) runs in bf16: the weights are already fixed by the fp32 softmax, and a
    # weighted mean of bf16 values is off by at most 2^-9 of the largest value (for a warped image,
    # under a third of an 8-bit step).
    warped = torch.bmm(x.flatten(2), weights.transpose(1, 2))
    return warped.view(x.shape[0], x.shape[1], *grid)


@dataclass
class StreamedCorrespondence:
    """The same warps as `Correspondence`, without ever holding the Nc x Ns matrices.

    Each warp is softmax(Q K^T / tau) V over chunks of `chunk` query rows, each chunk recomputed in
    the backward pass (activation checkpointing): peak memory is one chunk x N scores.
    """

    content_vectors: torch.Tensor  # (B, D, Nc), centred and normalised
    style_vectors: torch.Tensor    # (B, D, Ns)
    temperature: float
    chunk: int
    content_grid: tuple[int, int]
    style_grid: tuple[int, int]

    def warp_to_content(self, x: torch.Tensor) -> torch.Tensor:
        return self._attend(self.content_vectors, self.style_vectors, x, self.content_grid)

    def warp_to_style(self, x: torch.Tensor) -> torch.Tensor:
        return self._attend(self.style_vectors, self.content_vectors, x, self.style_grid)

    def _attend(self, queries, keys, x, grid):
        values = x.flatten(2).float()
        parts = [checkpoint(_attention_chunk, queries[:, :, start:start + self.chunk], keys, values,
                            1.0 / self.temperature, use_reentrant=False)
                 for start in range(0, queries.shape[2], self.chunk)]
        return torch.cat(parts, dim=2).view(x.shape[0], x.shape[1], *grid)


def _attention_chunk(queries, keys, values, scale):
    with torch.autocast(device_type=queries.device.type, enabled=False):
        weights = torch.softmax(torch.bmm(queries.transpose(1, 2).float(), keys.float()) * scale, dim=2)
        return torch.bmm(values, weights.transpose(1, 2))


def correlate(content_feature: torch.Tensor, style_feature: torch.Tensor, *, temperature: float,
              kernel: int = 3, center: str = "vector", chunk: int = 4096) -> Correspondence | StreamedCorrespondence:
    """Both softmaxes of the patch-cosine correlation M (content x style) / temperature.

    The features must already be on their correlation grids (see `correlation_grid`). Grids with
    more than `chunk` positions get the streamed form (0: always the dense one).
    """
    grids = tuple(content_feature.shape[-2:]), tuple(style_feature.shape[-2:])
    # fp32 even under autocast: at tau = 0.01 a bf16 cosine (3 digits) would reorder the matches.
    with torch.autocast(device_type=content_feature.device.type, enabled=False):
        content_vectors = patch_vectors(content_feature.float(), kernel, center)
        style_vectors = patch_vectors(style_feature.float(), kernel, center)
        if chunk and max(content_vectors.shape[2], style_vectors.shape[2]) > chunk:
            return StreamedCorrespondence(content_vectors, style_vectors, temperature, chunk, *grids)
        scores = torch.bmm(content_vectors.transpose(1, 2), style_vectors) / temperature
        to_content = torch.softmax(scores, dim=2)
        to_style = torch.softmax(scores, dim=1).transpose(1, 2)
    return Correspondence(to_content, to_style, *grids)
