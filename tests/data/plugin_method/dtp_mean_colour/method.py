"""stylize(content, style, *, config, device, seed, progress) -> StylizeResult (dtp_core.method)."""

import torch

from baselines import runs
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from .config import MeanColourConfig


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: MeanColourConfig = MeanColourConfig(),
            device="cpu", seed=None, progress=None) -> StylizeResult:
    device, seed = runs.start(content, style, config, "cpu", seed)
    with Meter(device) as meter:
        mean = style.mean(dim=(2, 3), keepdim=True)
        output = runs.to_rgb((1 - config.blend) * content + config.blend * mean)
    facts = runs.facts("mean_colour", config, seed=seed, content=content, style=style, meter=meter, device=device)
    return StylizeResult(image=output, facts=facts)
