"""Generation module: the randomly initialised residual decoder, 64x64 features -> 256x256 image.

13 residual blocks in four stages (SPEC.md); each block is conv3x3 + InstanceNorm(affine) + ReLU
added to a skip (a 1x1 conv where the width changes). Upsampling blocks nearest-upsample both
branches x2 first (computed without convolving the upsampled map: `upsampled_conv3x3`). The last
block has no norm and no activation. The authors' code meant reflection padding but uses zero
padding through a typo: zeros is the default, reflect selectable.
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
        if self.upsample and self.conv.padding_mode == "zeros":
            # The same numbers as upsampling first, without convolving the upsampled map: the 3x3
            # conv as four 2x2 convs of x (2.25x fewer multiply-adds), the 1x1 skip before the
            # upsampling (it acts per pixel, so it commutes with it: 4x fewer).
            y = upsampled_conv3x3(x, self.conv.weight, self.conv.bias)
            skip = F.interpolate(x if self.skip is None else self.skip(x), scale_factor=2, mode="nearest")
        else:
            if self.upsample:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            y = self.conv(x)
            skip = x if self.skip is None else self.skip(x)
        if self.norm is not None:
            y = channels_last_instance_norm(y, self.norm) if cpu_bf16(y) else self.norm(y)
        if self.activate:
            y = F.relu(y, inplace=self.norm is not None)  # in place on the norm's output: norm backward needs only its input
        return y + skip


def upsampled_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`conv2d(interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)`, zero padding,
    computed on x itself.

    Output row 2i + a sees upsampled rows 2i + a - 1 .. 2i + a + 1, i.e. rows i - 1, i, i (a = 0) or
    i, i, i + 1 (a = 1) of x: the kernel's rows fold to two, (k0, k1 + k2) or (k0 + k1, k2), and
    likewise its columns. So each of the four output parities is a 2x2 conv of x (zero-padded by
    one: an upsampled zero border is a zero border of x), and the four are interleaved.
    """
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    # Interleaved so that the result has the layout the next layer wants, channels-last on the CPU's
    # bf16 path (built through views: vmap, for batched runs, cannot convert memory formats).
    channels_last = cpu_bf16(x)
    rows = []
    for row, row_kernel in enumerate(_fold_taps(weight, dim=2)):
        parities = [F.conv2d(padded[..., row:row + height + 1, column:column + width + 1], kernel, bias)
                    for column, kernel in enumerate(_fold_taps(row_kernel, dim=3))]
        if channels_last:
            parities = [parity.movedim(-3, -1) for parity in parities]  # (B, h, w, C)
        rows.append(torch.stack(parities, dim=-2 if channels_last else -1))
    batch, channels = x.shape[:-3], weight.shape[0]
    if channels_last:  # (B, h, 2, w, 2, C) -> (B, 2h, 2w, C), seen as (B, C, 2h, 2w)
        return torch.stack(rows, dim=-4).reshape(*batch, 2 * height, 2 * width, channels).movedim(-1, -3)
    # (B, C, h, 2, w, 2) -> (B, C, 2h, 2w): row 2i + a, column 2j + b
    return torch.stack(rows, dim=-3).reshape(*batch, channels, 2 * height, 2 * width)


def _fold_taps(weight: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A 3-tap kernel dimension as the two 2-tap ones of the even and the odd upsampled positions."""
    k0, k1, k2 = weight.unbind(dim)
    return torch.stack((k0, k1 + k2), dim), torch.stack((k0 + k1, k2), dim)


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
