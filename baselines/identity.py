"""Identity: the content image returned unchanged. The floor of every style metric and the
ceiling of every content metric, so that the tables show what a method gains over doing nothing."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig


@dataclass(frozen=True)
class IdentityConfig(BaselineConfig):
    pass


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: IdentityConfig = IdentityConfig(), device="cpu",
            seed: int | None = None, progress: bool | None = None) -> StylizeResult:
    device, seed = runs.start(content, style, config, "cpu", seed)  # nothing to compute: always the CPU
    with Meter(device) as meter:
        output = runs.to_rgb(content.clone())
    facts = runs.facts("identity", config, seed=seed, content=content, style=style, meter=meter, device=device)
    return StylizeResult(image=output, facts=facts)
