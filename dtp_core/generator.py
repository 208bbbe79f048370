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
            y = channels_last_instance_norm(y, self.norm) if cpu_bf16(y) else self.norm(y)
        if self.activate:
            y = F.relu(y, inplace=self.norm is not None)  # in place on the norm's output: norm backward needs only its input
        return y + (x if self.skip is None else self.skip(x))


def cpu_bf16(x: torch.Tensor) -> bool:
    """The CPU's bf16 path, where the decoder runs channels-last (trainer.build_networks)."""
    return x.dtype == torch.bfloat16 and x.device.type == "cpu"


def channels_last_instance_norm(x: torch.Tensor, norm: nn.InstanceNorm2d) -> torch.Tensor:
    """`norm(x)` in x's own layout and dtype (the CPU's bf16 path: channels-last).

    PyTorch's instance norm reshapes its input into one batch-norm sample, which a channels-last
    tensor reaches only through a full copy, and returns a contiguous result that the next
    convolution copies back: at 256x256 in bf16 those copies cost more than the decoder's
    convolutions (docs/benchmarks.md). Here each (sample, channel) is scaled and shifted instead;
    the statistics come from fp32 sums.
    """
    return _InstanceNorm.apply(x, norm.weight, norm.bias, norm.eps)[0]


class _InstanceNorm(torch.autograd.Function):
    """y = weight * (x - mean) * rstd + bias per (sample, channel), applied as an affine map of x
    whose coefficients come from sums in fp32 (or wider); backward likewise: dx = c1 dy + c2 x + c3.
    Written in the setup_context form so that torch.func.vmap (batched runs) can map it."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, bias, eps):
        count, wide = x.shape[-2] * x.shape[-1], torch.promote_types(x.dtype, torch.float32)
        mean = x.sum((-2, -1), keepdim=True, dtype=wide) / count
        variance = (x * x).sum((-2, -1), keepdim=True, dtype=wide) / count - mean * mean
        rstd = torch.rsqrt(variance.clamp_min(0) + eps)
        scale = weight.to(wide)[:, None, None] * rstd
        shift = bias.to(wide)[:, None, None] - mean * scale
        return torch.addcmul(shift.to(x.dtype), x, scale.to(x.dtype)), mean, rstd

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, _, _ = inputs
        _, mean, rstd = output
        ctx.mark_non_differentiable(mean, rstd)
        ctx.save_for_backward(x, weight, mean, rstd)

    @staticmethod
    def backward(ctx, grad, _mean, _rstd):
        x, weight, mean, rstd = ctx.saved_tensors
        count, wide = x.shape[-2] * x.shape[-1], mean.dtype
        sum_grad = grad.sum((-2, -1), keepdim=True, dtype=wide)
        centred_sum = (grad * x).sum((-2, -1), keepdim=True, dtype=wide) - mean * sum_grad  # sum grad (x - mean)
        c1 = weight.to(wide)[:, None, None] * rstd
        c2 = -c1 * rstd * rstd * centred_sum / count
        c3 = -c1 * sum_grad / count - c2 * mean
        grad_x = torch.addcmul(torch.addcmul(c3.to(x.dtype), x, c2.to(x.dtype)), grad, c1.to(x.dtype))
        batch_dims = tuple(range(rstd.dim() - 3)) + (-2, -1)  # every dim but the channel's
        grad_weight = (rstd * centred_sum).sum(batch_dims).flatten().to(weight.dtype)
        grad_bias = sum_grad.sum(batch_dims).flatten().to(weight.dtype)
        return grad_x, grad_weight, grad_bias, None


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
