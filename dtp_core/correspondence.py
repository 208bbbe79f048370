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


def patch_cosines(content_feature: torch.Tensor, style_feature: torch.Tensor, kernel: int) -> torch.Tensor:
    """(B, Nc, Ns): cosines between the content's and the style's k x k patch vectors, each centred by
    its own mean (center="vector"): the products of `patch_vectors`, without forming them.

    Two patch vectors' dot product is the sum of their k*k aligned positions' feature products, so
    one Nc x Ns product of the C-dimensional features, summed along its k*k diagonal shifts, gives all
    of them: k*k times fewer multiply-adds than the product of the C*k*k-dimensional vectors (the
    largest product of an iteration; 9x fewer at k = 3). Each vector's mean and centred norm come
    from k x k box sums of the positions' feature sums and squared norms; with D = C*k*k,
    (p - m_p)·(q - m_q) = p·q - D m_p m_q and |p - m_p|^2 = |p|^2 - D m_p^2. The same numbers up to
    rounding (`tests/test_dtp_correspondence.py` bounds the difference).
    """
    batch, channels, hc, wc = content_feature.shape
    hs, ws = style_feature.shape[-2:]
    size = channels * kernel * kernel
    (mean_c, norm_c), (mean_s, norm_s) = (_patch_moments(f, kernel, size) for f in (content_feature, style_feature))
    products = torch.bmm(content_feature.flatten(2).transpose(1, 2), style_feature.flatten(2))
    dots = products if kernel == 1 else _DiagonalShiftSum.apply(products.view(batch, hc, wc, hs, ws), kernel).view_as(products)
    centred = torch.baddbmm(dots, mean_c.unsqueeze(2), mean_s.unsqueeze(1), alpha=-size)
    return centred / (norm_c.unsqueeze(2) * norm_s.unsqueeze(1))


def _patch_moments(feature: torch.Tensor, kernel: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H*W) each: every zero-padded k x k patch vector's mean and centred norm."""
    box = feature.new_ones(1, 1, kernel, kernel)
    sums = F.conv2d(feature.sum(1, keepdim=True), box, padding=kernel // 2).flatten(1)
    squares = F.conv2d(feature.square().sum(1, keepdim=True), box, padding=kernel // 2).flatten(1)
    mean = sums / size
    # At least EPS, the norm + EPS of an all-zero patch: |p|^2 - D m^2 may round below zero for a
    # constant patch, and the floor keeps the square root's gradient finite (no NaN from 0 * inf).
    # Above it the norm differs from norm + EPS by EPS, far below fp32's resolution.
    return mean, (squares - size * mean * mean).clamp_min(EPS * EPS).sqrt()


def diagonal_shift_sum(products: torch.Tensor, kernel: int) -> torch.Tensor:
    """(B, hc, wc, hs, ws) -> the same shape: out[y, x, y', x'] = sum over |dy|, |dx| <= k // 2 of
    products[y + dy, x + dx, y' + dy, x' + dx], zero outside the maps (the patches' zero padding).
    Summed one axis pair at a time (2k - 2 shifted adds, not k*k - 1)."""
    for content_axis, style_axis in ((2, 4), (1, 3)):
        summed = products.clone()
        for shift in range(1, kernel // 2 + 1):
            for step in (shift, -shift):
                length_c, length_s = products.shape[content_axis] - shift, products.shape[style_axis] - shift
                if length_c <= 0 or length_s <= 0:
                    continue
                target = summed.narrow(content_axis, max(0, -step), length_c).narrow(style_axis, max(0, -step), length_s)
                target += products.narrow(content_axis, max(0, step), length_c).narrow(style_axis, max(0, step), length_s)
        products = summed
    return products


class _DiagonalShiftSum(torch.autograd.Function):
    """`diagonal_shift_sum` with its adjoint as backward: shifting by d has the shift by -d as its
    adjoint, and the shifts come in +-d pairs, so the operation is its own adjoint. (Autograd's own
    backward of the in-place adds would allocate a full-size zero gradient per shift.)"""

    generate_vmap_rule = True  # the batched runs map the trainer's forward with torch.func.vmap

    @staticmethod
    def forward(products, kernel):
        return diagonal_shift_sum(products, kernel)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.kernel = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return diagonal_shift_sum(grad, ctx.kernel), None


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
        content_feature, style_feature = content_feature.float(), style_feature.float()
        if chunk and max(grids[0][0] * grids[0][1], grids[1][0] * grids[1][1]) > chunk:
            return StreamedCorrespondence(patch_vectors(content_feature, kernel, center),
                                          patch_vectors(style_feature, kernel, center), temperature, chunk, *grids)
        if center == "vector":
            cosines = patch_cosines(content_feature, style_feature, kernel)
        else:
            cosines = torch.bmm(patch_vectors(content_feature, kernel, center).transpose(1, 2),
                                patch_vectors(style_feature, kernel, center))
        scores = cosines / temperature
        to_content = torch.softmax(scores, dim=2)
        to_style = torch.softmax(scores, dim=1).transpose(1, 2)
    return Correspondence(to_content, to_style, *grids)
