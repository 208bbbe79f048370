"""DTP's warped style image, without a decoder and without training: the style image carried onto
the content by the correspondence of DTP's iteration 0 (ImageNet encoder, untrained), upsampled.

It is exactly the first output of the `dtp_no_generation` ablation, computed by DTP's own forward
pass (`dtp_core.trainer.forward`): what the correspondence alone contributes, before any
test-time training. The style is resized to the content's shape when they differ, as
`dtp_core.images.load_pair` does for DTP.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dtp_core import trainer
from dtp_core.backbone import ResolvedWeights, resolve_weights
from dtp_core.config import DTPConfig
from dtp_core.images import denormalize, normalize
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig


@dataclass(frozen=True)
class WarpedStyleConfig(BaselineConfig):
    # DTP's correspondence settings (dtp_core.config.DTPConfig defaults: the authors' code).
    backbone: str = DTPConfig.backbone
    tau_corr: float = DTPConfig.tau_corr
    corr_size: int = DTPConfig.corr_size
    corr_kernel: int = DTPConfig.corr_kernel
    center: str = DTPConfig.center
    seed: int = DTPConfig.seed

    def __post_init__(self):
        self.dtp_config()  # DTPConfig validates every field

    def dtp_config(self) -> DTPConfig:
        """The DTP configuration whose iteration 0 this is: no decoder, no cycle (not needed)."""
        return DTPConfig(backbone=self.backbone, tau_corr=self.tau_corr, corr_size=self.corr_size,
                         corr_kernel=self.corr_kernel, center=self.center, seed=self.seed,
                         use_decoder=False, lambda_cyc=0.0, iterations=1)


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: WarpedStyleConfig = WarpedStyleConfig(),
            device="auto", seed: int | None = None, progress: bool | None = None, weights=None,
            resolved: ResolvedWeights | None = None) -> StylizeResult:
    device, seed = runs.start(content, style, config, device, seed)
    dtp_config = config.dtp_config()
    resolved = resolved or resolve_weights(config.backbone, weights)
    style_in = style
    if style.shape != content.shape:
        style_in = F.interpolate(style, size=content.shape[-2:], mode="bilinear", antialias=True).clamp(0, 1)
    with Meter(device) as meter, torch.no_grad():
        nets = trainer.build_networks(dtp_config, resolved, device, seed)
        step = trainer.forward(nets, normalize(content.to(device)), normalize(style_in.to(device)), dtp_config, None)
        output = runs.to_rgb(denormalize(step.output))
    facts = runs.facts("warped_style", config, seed=seed, content=content, style=style, meter=meter, device=device,
                       resolved=resolved)
    return StylizeResult(image=output, facts=facts)
