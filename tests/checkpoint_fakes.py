"""Helpers for the checkpoint baselines' tests: the committed key lists, and fake checkpoints.

A fake checkpoint has exactly the names and shapes of a module's state dict, random values, and
is written with plain `torch.save`, so that the method's real loading path reads it. Each tensor
is one random row broadcast to its shape (stride 0), which keeps the files a few KB even for
CoCosNet's 146M parameters while every name and shape is still checked on load.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

DATA = Path(__file__).resolve().parent / "data"


def layout(parts: list[tuple[str, nn.Module]]) -> list[str]:
    """``<file>:<name>\\t<shape>`` lines, in the format of tests/data/<method>_keys.txt."""
    return [f"{prefix}{name}\t{'x'.join(map(str, t.shape)) or 'scalar'}"
            for prefix, module in parts for name, t in module.state_dict().items()]


def committed(method: str) -> list[str]:
    return (DATA / f"{method}_keys.txt").read_text().splitlines()


def fake_state(module: nn.Module, seed: int = 0, scale: float = 0.05, keep: tuple[str, ...] = ()) -> dict:
    """Random tensors with `module`'s names and shapes; names ending in one of `keep` keep the
    module's own values (fixed filters such as Haar or blur kernels)."""
    rng = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in module.state_dict().items():
        if name.endswith(keep):
            state[name] = tensor.clone()
            continue
        row = torch.randn(tensor.shape[-1] if tensor.dim() else 1, generator=rng) * scale
        state[name] = row.expand(tensor.shape) if tensor.dim() else row[0]
    return state


def save(path: Path, state: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path
