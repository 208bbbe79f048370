"""The one input check every metric calls first (piq's `_validate_input`, but raising ValueError)."""

from __future__ import annotations

import torch


def check_images(x: torch.Tensor, y: torch.Tensor, *, names: tuple[str, str] = ("x", "y")) -> None:
    """`x` and `y`: float tensors of the same shape (N, 3, H, W) with values in [0, 1]."""
    for name, image in zip(names, (x, y)):
        if not isinstance(image, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
        if not image.is_floating_point():
            raise TypeError(f"{name} must be a float tensor in [0, 1], got dtype {image.dtype}")
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"{name} must have shape (N, 3, H, W), got {tuple(image.shape)}")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{name} must be in [0, 1], got values in [{lo:.4f}, {hi:.4f}]")
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} {tuple(x.shape)} and {names[1]} {tuple(y.shape)} must have the same shape")
