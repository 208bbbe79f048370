"""DTP's losses, each a plain function of tensors: the caller samples, weights and sums them.

Patches are gathered at sampled positions by index (a 3x3 neighbourhood is nine shifted reads of
the zero-padded map) instead of unfolding whole maps and then selecting, which gives the same
vectors at a fraction of the memory traffic.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .correspondence import center_l2_normalize


def sample_positions(num_positions: int, num_patches: int, generator: torch.Generator) -> torch.Tensor:
    """`num_patches` distinct random positions (all of them, permuted, when there are fewer)."""
    return torch.randperm(num_positions, generator=generator)[:num_patches]


@functools.lru_cache(maxsize=64)
def _neighbour_offsets(width: int, kernel: int) -> torch.Tensor:
    radius = kernel // 2
    padded_width = width + 2 * radius
    dy, dx = torch.meshgrid(torch.arange(kernel), torch.arange(kernel), indexing="ij")
    return (dy * padded_width + dx).flatten()  # kernel order of F.unfold (row-major)


def gather_patches(feature: torch.Tensor, positions: torch.Tensor, kernel: int = 1) -> torch.Tensor:
    """Patch vectors of `feature` (1, C, H, W) at flat `positions`: (P, C * kernel**2).

    Identical to `F.unfold(feature, kernel, padding=kernel // 2)[0, :, positions].T`.
    """
    _, channels, height, width = feature.shape
    positions = positions.to(feature.device)
    if kernel == 1:
        return feature.flatten(2)[0].index_select(1, positions).t()
    radius = kernel // 2
    padded = F.pad(feature, (radius, radius, radius, radius)).flatten(2)[0]  # (C, (H+2r)(W+2r))
    rows, cols = positions // width, positions % width
    top_left = rows * (width + 2 * radius) + cols
    index = (top_left[:, None] + _neighbour_offsets(width, kernel).to(feature.device)[None, :]).flatten()
    return padded.index_select(1, index).view(channels, positions.numel(), kernel * kernel).transpose(0, 1) \
        .reshape(positions.numel(), channels * kernel * kernel)


@functools.lru_cache(maxsize=8)
def _diagonal_mask(size: int, device: str) -> torch.Tensor:
    return torch.eye(size, dtype=torch.bool, device=device)


def contrastive_loss(content: torch.Tensor, output: torch.Tensor, *, temperature: float = 0.07,
                     diagonal: float = -10.0) -> torch.Tensor:
    """InfoNCE between output and content vectors at the same positions, (P, D) each.

    Positive: the content vector at the output's position; negatives: the other sampled content
    vectors (the positive's own slot among them masked with `diagonal`). Vectors are centred and
    L2-normalised; no projection head; nothing detached. Logits stay fp32 under autocast.
    """
    with torch.autocast(device_type=content.device.type, enabled=False):
        content = center_l2_normalize(content.float(), dim=-1)
        output = center_l2_normalize(output.float(), dim=-1)
        positive = (content * output).sum(dim=-1, keepdim=True)
        negatives = output @ content.t()
        negatives = negatives.masked_fill(_diagonal_mask(negatives.shape[0], str(negatives.device)), diagonal)
        logits = torch.cat((positive, negatives), dim=1) / temperature
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, target)


STYLE_DISTANCES = ("cosine", "squared_l2")


def _style_vectors(style: torch.Tensor, output: torch.Tensor, distance: str) -> tuple[torch.Tensor, torch.Tensor]:
    """fp32 vectors as the distance compares them: centred and L2-normalised for "cosine", raw otherwise."""
    if distance not in STYLE_DISTANCES:
        raise ValueError(f"unknown style distance {distance!r}; choose one of {', '.join(STYLE_DISTANCES)}")
    style, output = style.float(), output.float()
    if distance == "cosine":
        style, output = center_l2_normalize(style, dim=-1), center_l2_normalize(output, dim=-1)
    return style, output


def _nearest(style: torch.Tensor, output: torch.Tensor, distance: str) -> torch.Tensor:
    with torch.no_grad():
        if distance == "cosine":
            return (output @ style.t()).argmax(dim=1)
        return torch.cdist(output, style).argmin(dim=1)


def nearest_style_patches(style: torch.Tensor, output: torch.Tensor, *, distance: str = "cosine") -> torch.Tensor:
    """For each output vector (P, D), the index of its nearest style vector (Q, D): (P,), no gradient.

    A ranking, so it is made in fp32 under autocast. Where two style vectors are nearly as near, the
    choice can differ between two kernels that round differently (another CPU, another thread count).
    """
    with torch.autocast(device_type=style.device.type, enabled=False):
        return _nearest(*_style_vectors(style, output, distance), distance)


def nearest_neighbour_style_loss(style: torch.Tensor, output: torch.Tensor, *, distance: str = "cosine",
                                 nearest: torch.Tensor | None = None) -> torch.Tensor:
    """Each output patch against its nearest style patch among the sampled ones, (P, D) each.

    "cosine" (the authors' code): vectors centred and L2-normalised, nearest by cosine,
    loss = mean(1 - cos). "squared_l2" (the paper's Eq. 14): nearest by squared L2 distance of
    the raw patches, loss = mean squared L2 distance. `nearest`: the choice of
    `nearest_style_patches`, when the caller has made it already (a test replays one path's
    choice in another); by default it is made here.
    """
    with torch.autocast(device_type=style.device.type, enabled=False):
        style, output = _style_vectors(style, output, distance)
        if nearest is None:
            nearest = _nearest(style, output, distance)
        # index_select, not style[nearest]: its backward (index_add) is deterministic on the CPU,
        # advanced indexing's (index_put with accumulate) is not.
        picked = style.index_select(0, nearest)
        if distance == "cosine":
            return (1.0 - (output * picked).sum(dim=-1)).mean()
        return (output - picked).pow(2).sum(dim=-1).mean()


def cycle_loss(style_reconstruction: torch.Tensor, style: torch.Tensor,
               content_reconstruction: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """MSE of the s->c->s and c->s->c reconstructions against the inputs (normalised pixels)."""
    return F.mse_loss(style_reconstruction, style) + F.mse_loss(content_reconstruction, content)
