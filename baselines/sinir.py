"""SinIR (Yoo & Chen, ICML 2021) for photorealistic style transfer: a cascade of small networks is
trained to reconstruct the style image alone, then the content is mapped through it.

Photo setting, the authors' `config_train/photo.yaml` and `loaders/loader.py` (task "photo"):
two scales, both at the style's resolution (scale factor 1); the style resized so that its long
side is 250 px (bicubic, the "pytorch" resampler); per scale 500 Adam steps, lr 1e-4, betas
(0.5, 0.999), cosine-annealed over the scale; 128-channel networks of six blocks
(`sinir_network`); loss 1 - SSIM (11 px window) + MSE; between scales, 0.5 % of the pixels of the
previous network's output are shuffled (training only). Scale 2's network starts as a copy of
scale 1's, which is then frozen. Inference (`runners/runner.py`, `infer`, starting at scale 1):
the content, at its own size, through both networks without shuffling.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig, positive_int, positive_number, require
from .sinir_network import SinIRNet, reconstruction_terms, shuffle_pixels

LOSS_TERMS = ("total", "ssim", "mse")


@dataclass(frozen=True)
class SinIRConfig(BaselineConfig):
    iterations_per_scale: int = 500
    scales: int = 2
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    channels: int = 128
    blocks: int = 6
    pixel_shuffle_p: float = 0.005
    style_long_side: int | None = 250     # the training image's long side; None: the style as given
    seed: int = runs.DEFAULT_SEED
    deterministic: bool = False

    def __post_init__(self):
        for name in ("iterations_per_scale", "scales", "channels", "blocks"):
            require(positive_int(getattr(self, name)), name, f"must be a positive integer, got {getattr(self, name)!r}")
        require(self.channels % 2 == 0, "channels", f"must be even (the 1x1 convs use half), got {self.channels}")
        require(positive_number(self.lr), "lr", f"must be > 0, got {self.lr!r}")
        require(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas",
                f"must be two numbers in [0, 1), got {self.betas!r}")
        require(isinstance(self.pixel_shuffle_p, (int, float)) and 0 <= self.pixel_shuffle_p <= 1, "pixel_shuffle_p",
                f"must be in [0, 1], got {self.pixel_shuffle_p!r}")
        require(self.style_long_side is None or (positive_int(self.style_long_side) and self.style_long_side >= 16),
                "style_long_side", f"must be None or at least 16 px, got {self.style_long_side!r}")


def to_signed(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], SinIR's image range."""
    return image * 2 - 1


def resize_long_side(image: torch.Tensor, long_side: int | None) -> torch.Tensor:
    """The authors' "pytorch" resampler: bicubic, align_corners=True, clipped to [-1, 1]."""
    if long_side is None:
        return image
    height, width = image.shape[-2:]
    scale = long_side / max(height, width)
    shape = (int(height * scale), int(width * scale))
    if shape == (height, width):
        return image
    return F.interpolate(image, size=shape, mode="bicubic", align_corners=True).clamp(-1, 1)


def cascade(nets: list[SinIRNet], x: torch.Tensor, *, shuffle_p: float = 0.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """x through every network in turn. While training, the frozen earlier networks run without
    gradients and their outputs are pixel-shuffled before the next one (`shuffle_p` > 0)."""
    for index, net in enumerate(nets):
        last = index == len(nets) - 1
        with torch.set_grad_enabled(last and torch.is_grad_enabled()):
            x = net(x)
        if not last and shuffle_p > 0:
            x = shuffle_pixels(x, shuffle_p, generator)
    return x


def train(target: torch.Tensor, config: SinIRConfig, generator: torch.Generator, progress: bool | None,
          history: list, scale_of_step: list) -> list[SinIRNet]:
    """Train the cascade on one [-1, 1] image (1, 3, H, W)."""
    nets = [SinIRNet(config.channels, config.blocks).to(target.device)]
    bar = runs.progress_bar(config.iterations_per_scale * config.scales, progress, "SinIR")
    for scale in range(config.scales):
        if scale > 0:
            nets.append(copy.deepcopy(nets[-1]))
            nets[-2].requires_grad_(False)
        optimizer = torch.optim.Adam(nets[-1].parameters(), lr=config.lr, betas=config.betas)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.iterations_per_scale)
        for _ in range(config.iterations_per_scale):
            output = cascade(nets, target, shuffle_p=config.pixel_shuffle_p, generator=generator)
            ssim_term, mse_term = reconstruction_terms(output, target)
            total = ssim_term + mse_term
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            schedule.step()
            history.append(torch.stack([total, ssim_term, mse_term]).detach())
            scale_of_step.append(scale)
            bar.update(1)
    bar.close()
    return nets


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: SinIRConfig = SinIRConfig(), device="auto",
            seed: int | None = None, progress: bool | None = None) -> StylizeResult:
    """SinIR on one pair. Inputs: RGB (1, 3, H, W) in [0, 1]; content and style may differ in size."""
    device, seed = runs.start(content, style, config, device, seed)  # also seeds the networks' init
    generator = torch.Generator().manual_seed(seed)  # pixel shuffles: drawn on the CPU
    history: list[torch.Tensor] = []
    scale_of_step: list[int] = []
    with Meter(device) as meter:
        target = resize_long_side(to_signed(style.to(device)), config.style_long_side)
        nets = train(target, config, generator, progress, history, scale_of_step)
        with torch.no_grad():
            output = runs.to_rgb((cascade(nets, to_signed(content.to(device))) + 1) / 2)
    losses = runs.loss_rows(LOSS_TERMS, history, scale=scale_of_step)
    facts = runs.facts("sinir", config, seed=seed, content=content, style=style, meter=meter, device=device,
                       iterations=len(history), training_shape=list(target.shape),
                       final_losses=losses[-1] if losses else {})
    return StylizeResult(image=output, facts=facts, losses=losses)
