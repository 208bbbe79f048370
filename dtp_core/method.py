"""The one call shape every method has (DTP and each baseline).

    stylize(content, style, *, config, device, seed, progress) -> StylizeResult

`content` and `style` are RGB float tensors in [0, 1], shape (1, 3, H, W). A method that needs a
file it cannot find raises `MethodUnavailable`; the workflow turns that into a table cell marked
unavailable with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class StylizeResult:
    image: torch.Tensor                     # (1, 3, H, W) in [0, 1], on the CPU
    facts: dict                             # everything the output's JSON sidecar records
    losses: list[dict] = field(default_factory=list)     # one row per iteration (optimising methods)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)  # iteration -> image
    extras: dict[str, torch.Tensor] = field(default_factory=dict)     # e.g. DTP's warped image


def check_pair(content: torch.Tensor, style: torch.Tensor, min_side: int = 16) -> None:
    """Validate the call shape's inputs (raises ValueError naming the problem)."""
    for name, image in (("content", content), ("style", style)):
        if not isinstance(image, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise ValueError(f"{name} must have shape (1, 3, H, W), got {tuple(image.shape)}")
        if min(image.shape[-2:]) < min_side:
            raise ValueError(f"{name} is {image.shape[-1]}x{image.shape[-2]} px; the smallest input is {min_side} px per side")
        if image.is_floating_point() and (image.min() < 0 or image.max() > 1):
            raise ValueError(f"{name} must be in [0, 1], got values in [{image.min():.3f}, {image.max():.3f}]")
