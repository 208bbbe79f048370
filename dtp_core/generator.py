"""Generation module: the randomly initialised residual decoder, 64x64 features -> 256x256 image.

13 residual blocks in four stages (SPEC.md); each block is conv3x3 + InstanceNorm(affine) + ReLU
added to a skip (a 1x1 conv where the width changes). Upsampling blocks nearest-upsample both
branches x2 first. The last block has no norm and no activation. The authors' code meant reflection
padding but uses zero padding through a typo: zeros is the default, reflect selectable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

# (in, out, upsample) per block; the last block's conv has no norm and no ReLU.
DECODER_BLOCKS: tuple[tuple[int, int, bool], ...] = (
    (256, 256, False), (256, 256, False), (256, 128, True),
    (128, 128, False), (128, 128, False), (128, 128, False), (128, 64, True),
    (64, 64, False), (64, 64, False), (64, 32, False),
    (32, 32, False), (32, 32, False), (32, 3, False),
)


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, *, upsample: bool = False, last: bool = False, padding_mode: str = "zeros"):
        super().__init__()
        self.upsample = upsample
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1, padding_mode=padding_mode)
        self.norm = None if last else nn.InstanceNorm2d(cout, affine=True)
        self.activate = not last
        self.skip = nn.Conv2d(cin, cout, kernel_size=1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        y = self.conv(x)
        if self.norm is not None:
            y = self.norm(y)
        if self.activate:
            y = F.relu(y, inplace=self.norm is not None)  # in place on the norm's output: norm backward needs only its input
        return y + (x if self.skip is None else self.skip(x))


# The blocks from the last upsampling on run at full resolution and hold most of an iteration's
# activation memory; with checkpointing they are recomputed in the backward pass instead of stored.
FULL_RESOLUTION_FROM = min(i for i, (_, _, up) in enumerate(DECODER_BLOCKS) if up)


class Decoder(nn.Sequential):
    """Decodes (B, 256, h, w) warped features into (B, 3, 4h, 4w) ImageNet-normalised images.

    Samples are independent (instance norm), so several decodes can share one batched pass.
    `checkpoint_full_resolution` trades ~5% more time for ~1 GB less memory at 256x256; it does
    not change the result.
    """

    in_channels = DECODER_BLOCKS[0][0]
    upscale = 4

    def __init__(self, padding_mode: str = "zeros", checkpoint_full_resolution: bool = False):
        last = len(DECODER_BLOCKS) - 1
        super().__init__(*(ResidualBlock(cin, cout, upsample=up, last=i == last, padding_mode=padding_mode)
                           for i, (cin, cout, up) in enumerate(DECODER_BLOCKS)))
        self.checkpoint_full_resolution = checkpoint_full_resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recompute = self.checkpoint_full_resolution and torch.is_grad_enabled()
        for index, block in enumerate(self):
            # Per block, so that backward holds one block's recomputed activations at a time.
            if recompute and index >= FULL_RESOLUTION_FROM:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x
