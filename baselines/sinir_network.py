"""SinIR's network and training loss (Yoo & Chen, "SinIR: Efficient General Image Manipulation with
Single Image Reconstruction", ICML 2021), written from the paper and the layout of the authors'
`networks/network.py` and `utils/runner_utils.py` (YooJiHyeong/SinIR).

The network, one per scale: RGB -> 1x1 convs to 64 then 128 channels (the stem) -> six blocks
(reflection pad, 3x3 conv, instance norm, LeakyReLU 0.2), the stem's output added back after each
(the authors' `dense` list holds only the stem) -> 1x1 convs to 64 then 3 channels -> tanh.
Images are in [-1, 1]. Loss: (1 - SSIM) with an 11 px Gaussian window (sigma 1.5) on [0, 1]
images, each channel's SSIM clamped at 0, plus MSE on the [-1, 1] images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.layer = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
                                   nn.InstanceNorm2d(channels), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class SinIRNet(nn.Module):
    """One scale's network. Parameter names are the authors' (`from_rgb.0.weight`, `layers.3.layer.1.bias`,
    `to_rgb.1.weight`), so a state dict saved by their code loads as is."""

    def __init__(self, channels: int = 128, blocks: int = 6, image_channels: int = 3):
        super().__init__()
        self.from_rgb = nn.Sequential(nn.Conv2d(image_channels, channels // 2, 1), nn.Conv2d(channels // 2, channels, 1))
        self.layers = nn.Sequential(*[ConvBlock(channels) for _ in range(blocks)])
        self.to_rgb = nn.Sequential(nn.Conv2d(channels, channels // 2, 1), nn.Conv2d(channels // 2, image_channels, 1),
                                    nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.from_rgb(x)
        x = stem
        for block in self.layers:
            x = block(x) + stem
        return self.to_rgb(x)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    window = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return window / window.sum()


def ssim_per_channel(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5,
                     data_range: float = 1.0) -> torch.Tensor:
    """(B, C, H, W) pair -> (B, C) SSIM (Wang et al. 2004), Gaussian-weighted, valid positions only."""
    channels = x.shape[1]
    g = gaussian_window(window, sigma).to(x)
    kernel_h = g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    kernel_v = g.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, kernel_h, groups=channels), kernel_v, groups=channels)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(2).mean(-1)


def reconstruction_terms(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SinIR's two training loss terms on [-1, 1] images: (1 - SSIM11) on [0, 1], and MSE.
    Their sum is the loss (equal weights, as the authors' `Loss` adds them)."""
    ssim = ssim_per_channel((output + 1) / 2, (target + 1) / 2).clamp_min(0).mean()
    return 1 - ssim, F.mse_loss(output, target)


def shuffle_pixels(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Each pixel position, with probability p, takes the value of a random other position (the same
    move for all channels): SinIR's training-time perturbation between scales. (1, C, H, W)."""
    height, width = x.shape[-2:]
    count = height * width
    keep = torch.rand(count, generator=generator) > p
    index = torch.where(keep, torch.arange(count), torch.randperm(count, generator=generator))
    return x.flatten(2)[:, :, index.to(x.device)].view_as(x)
