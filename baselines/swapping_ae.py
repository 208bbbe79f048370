"""Swapping Autoencoder (Park et al., NeurIPS 2020): structure code of the content, texture code of the style.

An encoder E maps an image to a spatial *structure* code (8 channels at 1/16 of the input) and a
2048-d *texture* code; a StyleGAN2-style generator G decodes (structure, texture). Stylisation is
the authors' "simple swapping" evaluation (``taesungp/swapping-autoencoder-pytorch``,
``evaluation/simple_swapping_evaluator.py``): fix G's noise, encode both images, decode the
content's structure code with ``lerp(content texture, style texture, alpha)``, ``alpha = 1``
(full swap); the output is clamped to [-1, 1] and mapped to [0, 1]. Inputs are in [-1, 1]
(``Normalize(0.5, 0.5)``), sides multiples of 16 (the authors' loader rounds them, bicubic; here
bilinear, then the output is resized back).

Architecture options are the released models' (``options/__init__.py``, ``encoder.py``,
``generator.py``, ``swapping_autoencoder_model.py`` defaults, ``experiments/*_pretrained_launcher.py``):
``spatial_code_ch = 8``, ``global_code_ch = 2048``, ``use_antialias = True``, encoder
``netE_num_downsampling_sp = 4``, ``netE_num_downsampling_gl = 2``, ``netE_nc_steepness = 2``,
``netE_scale_capacity = 1``; generator ``netG_num_base_resnet_layers = 2``, ``netG_use_noise = True``,
``netG_scale_capacity = 1``. (``ffhq1024_pretrained`` uses other capacities and is not offered.)

Checkpoint: ``checkpoints/<model>/latest_checkpoint.pth`` from the authors' zip (the whole
model's state dict: ``E.*``, ``G.*``, and the discriminators, ignored here), read with
``torch.load(weights_only=True)``. ``model`` chooses it: ``ffhq512_pretrained`` (faces, default),
``mountain_pretrained`` (landscapes), ``church_pretrained``, ``bedroom_pretrained``.

Verified here: every parameter and buffer name and shape of E and G against the authors'
module definitions (tests/data/swapping_ae_keys.txt) and the swapping procedure. Not verified
(no network here): outputs equal to the released weights' outputs. The StyleGAN2 CUDA kernels
are replaced by their exact native equivalents (the authors' own ``upfirdn2d_native`` path).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dtp_core.method import StylizeResult, check_pair
from dtp_core.records import Meter

from . import checkpoints, runs
from .config import BaselineConfig, require
from .wct import round_to_multiple

METHOD = "swapping_ae"
MODELS = ("ffhq512_pretrained", "mountain_pretrained", "church_pretrained", "bedroom_pretrained")
CHECKPOINT = "latest_checkpoint.pth"
SQRT2 = math.sqrt(2)


@dataclass(frozen=True)
class SwappingAEConfig(BaselineConfig):
    model: str = "ffhq512_pretrained"
    texture_mix_alpha: float = 1.0   # simple_swapping_evaluator --texture_mix_alphas [1.0]
    weights_dir: str | None = None
    seed: int = 1006                 # draws the generator's fixed noise (the authors' fix_noise)

    def __post_init__(self):
        require(self.model in MODELS, "model", f"unknown model {self.model!r}", f"use one of {MODELS}")
        require(0.0 <= self.texture_mix_alpha <= 1.0, "texture_mix_alpha", f"must be in [0, 1], got {self.texture_mix_alpha}")


# -- StyleGAN2 building blocks (names as in the authors' models/networks/stylegan2_layers.py) -----

def make_kernel(k) -> torch.Tensor:
    k = torch.tensor(k, dtype=torch.float32)
    if k.dim() == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad=(0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative crops), FIR-filter, keep every `down`-th sample."""
    b, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(b, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    x = x[..., max(-p0, 0): x.shape[-2] - max(-p1, 0), max(-p0, 0): x.shape[-1] - max(-p1, 0)]
    weight = torch.flip(kernel, [0, 1]).to(x)[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, groups=c)[..., ::down, ::down]


class Blur(nn.Module):
    def __init__(self, kernel, pad, upsample_factor=1, reflection_pad=False):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor ** 2)
        self.pad, self.reflection = tuple(pad), reflection_pad

    def forward(self, x):
        if self.reflection:
            p0, p1 = self.pad
            return upfirdn2d(F.pad(x, [p0, p1, p0, p1], mode="reflect"), self.kernel)
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, kernel, factor=2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor ** 2)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x):
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualConv2d(nn.Module):
    """A conv whose weight is scaled by 1/sqrt(fan_in) at run time (equalised learning rate)."""

    def __init__(self, cin, cout, k, stride=1, padding=0, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.stride, self.padding = 1 / math.sqrt(cin * k * k), stride, padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class EqualLinear(nn.Module):
    def __init__(self, din, dout, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dout, din))
        self.bias = nn.Parameter(torch.full((dout,), float(bias_init)))
        self.scale = 1 / math.sqrt(din)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.leaky_relu(x + self.bias.view(1, -1, *[1] * (x.dim() - 2)), 0.2) * SQRT2


class ScaledLeakyReLU(nn.Module):
    def forward(self, x):
        return F.leaky_relu(x, 0.2) * SQRT2


class ConvLayer(nn.Sequential):
    """[Blur | RefPad] -> Conv -> [Act], children named as the authors' (``Blur``, ``RefPad``, ``Conv``, ``Act``)."""

    def __init__(self, cin, cout, k, downsample=False, blur_kernel=(1, 3, 3, 1), bias=True, activate=True,
                 pad=None, reflection_pad=False):
        layers = []
        if downsample:
            pad = (len(blur_kernel) - 2) + (k - 1) if pad is None else pad
            layers.append(("Blur", Blur(blur_kernel, ((pad + 1) // 2, pad // 2), reflection_pad=reflection_pad)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, k // 2 if pad is None else pad
            if reflection_pad:
                layers.append(("RefPad", nn.ReflectionPad2d(padding)))
                padding = 0
        layers.append(("Conv", EqualConv2d(cin, cout, k, stride, padding, bias=bias and not activate)))
        if activate:
            layers.append(("Act", FusedLeakyReLU(cout) if bias else ScaledLeakyReLU()))
        super().__init__(OrderedDict(layers))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, blur_kernel, reflection_pad=False):
        super().__init__()
        self.conv1 = ConvLayer(cin, cin, 3, reflection_pad=reflection_pad)
        self.conv2 = ConvLayer(cin, cout, 3, downsample=True, blur_kernel=blur_kernel, reflection_pad=reflection_pad)
        self.skip = ConvLayer(cin, cout, 1, downsample=True, blur_kernel=blur_kernel, activate=False, bias=False)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / SQRT2


class ModulatedConv2d(nn.Module):
    """StyleGAN2's weight-(de)modulated conv, with the authors' ``new_demodulation`` (the style
    scales the input, the demodulation uses the unmodulated weight)."""

    def __init__(self, cin, cout, k, style_dim, demodulate=True, upsample=False, blur_kernel=(1, 3, 3, 1)):
        super().__init__()
        self.cin, self.cout, self.k, self.demodulate, self.upsample = cin, cout, k, demodulate, upsample
        if upsample:
            p = (len(blur_kernel) - 2) - (k - 1)
            self.blur = Blur(blur_kernel, ((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)
        self.scale, self.padding = 1 / math.sqrt(cin * k * k), k // 2
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.modulation = EqualLinear(style_dim, cin, bias_init=1)

    def forward(self, x, style):
        s = self.modulation(style)
        if self.demodulate:
            s = s * torch.rsqrt(s.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        x = x * s[:, :, None, None]
        weight = self.scale * self.weight[0]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        if self.upsample:
            return self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        return F.conv2d(x, weight, padding=self.padding)


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.fixed_noise: torch.Tensor | None = None  # set by `fix_noise`, as the authors' evaluator does

    def forward(self, x):
        if self.fixed_noise is None or self.fixed_noise.shape[-2:] != x.shape[-2:]:
            raise RuntimeError("call fix_noise(generator, shapes) before decoding")
        return x + self.weight * self.fixed_noise


class StyledConv(nn.Module):
    def __init__(self, cin, cout, k, style_dim, upsample=False, blur_kernel=(1, 3, 3, 1), use_noise=True):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, k, style_dim, upsample=upsample, blur_kernel=blur_kernel)
        self.use_noise = use_noise
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(cout)

    def forward(self, x, style):
        x = self.conv(x, style)
        return self.activate(self.noise(x) if self.use_noise else x)


class ToRGB(nn.Module):
    def __init__(self, cin, style_dim, blur_kernel=(1, 3, 3, 1)):
        super().__init__()
        self.upsample = Upsample(blur_kernel)  # built (and saved) by the authors, unused without a skip
        self.conv = ModulatedConv2d(cin, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style):
        return self.conv(x, style) + self.bias


# -- encoder and generator (encoder.py, generator.py) --------------------------------------------

def normalize(v: torch.Tensor) -> torch.Tensor:
    """util.normalize: unit L2 norm along dim 1."""
    return v * torch.rsqrt(v.pow(2).sum(dim=1, keepdim=True) + 1e-8)


class Encoder(nn.Module):
    """StyleGAN2ResnetEncoder: channels 32 * 2^i, 4 down-blocks to the structure code, 2 more to the texture code."""

    def __init__(self, spatial_code_ch=8, global_code_ch=2048, n_sp=4, n_gl=2):
        super().__init__()
        nc = [round(2.0 ** (5 + i)) for i in range(n_sp + n_gl + 1)]
        blur = (1, 2, 1)  # use_antialias
        self.FromRGB = ConvLayer(3, nc[0], 1)
        self.DownToSpatialCode = nn.Sequential(OrderedDict(
            (f"ResBlockDownBy{2 ** i}", ResBlock(nc[i], nc[i + 1], blur, reflection_pad=True)) for i in range(n_sp)))
        self.ToSpatialCode = nn.Sequential(ConvLayer(nc[n_sp], nc[n_sp], 1),
                                           ConvLayer(nc[n_sp], spatial_code_ch, 1, activate=False))
        self.DownToGlobalCode = nn.Sequential(OrderedDict(
            (f"ConvLayerDownBy{2 ** (n_sp + i)}", ConvLayer(nc[n_sp + i], nc[n_sp + i + 1], 3, blur_kernel=(1,),
                                                            downsample=True, pad=0)) for i in range(n_gl)))
        self.ToGlobalCode = nn.Sequential(EqualLinear(nc[n_sp + n_gl], global_code_ch))

    def forward(self, x):
        mid = self.DownToSpatialCode(self.FromRGB(x))
        structure = self.ToSpatialCode(mid)
        texture = self.ToGlobalCode(self.DownToGlobalCode(mid).mean(dim=(2, 3)))
        return normalize(structure), normalize(texture)


class GeneratorModulation(nn.Module):
    def __init__(self, style_dim, channels):
        super().__init__()
        self.scale, self.bias = EqualLinear(style_dim, channels), EqualLinear(style_dim, channels)

    def forward(self, x, style):
        return x * self.scale(style)[:, :, None, None] + self.bias(style)[:, :, None, None]


class PreservingBlock(nn.Module):
    """ResolutionPreservingResnetBlock."""

    def __init__(self, cin, cout, style_dim):
        super().__init__()
        self.conv1, self.conv2 = StyledConv(cin, cout, 3, style_dim), StyledConv(cout, cout, 3, style_dim)
        self.skip = ConvLayer(cin, cout, 1, activate=False, bias=False) if cin != cout else nn.Identity()

    def forward(self, x, style):
        return (self.skip(x) + self.conv2(self.conv1(x, style), style)) / SQRT2


class UpsamplingBlock(nn.Module):
    """UpsamplingResnetBlock: the skip is bilinear x2, the residual a StyleGAN2 upsampling conv."""

    def __init__(self, cin, cout, style_dim, blur_kernel):
        super().__init__()
        self.conv1 = StyledConv(cin, cout, 3, style_dim, upsample=True, blur_kernel=blur_kernel)
        self.conv2 = StyledConv(cout, cout, 3, style_dim)
        self.skip = ConvLayer(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, style):
        skip = F.interpolate(self.skip(x), scale_factor=2, mode="bilinear", align_corners=False)
        return (skip + self.conv2(self.conv1(x, style), style)) / SQRT2


class Generator(nn.Module):
    """StyleGAN2ResnetGenerator (Figure 18 of the paper)."""

    def __init__(self, spatial_code_ch=8, global_code_ch=2048, n_up=4, n_base=2):
        super().__init__()
        blur = (1, 3, 3, 1)  # use_antialias
        nf = [int(min(512, 128 * 2 ** (n_up - j))) for j in range(n_up + 1)]
        self.n_base, self.n_up = n_base, n_up
        self.SpatialCodeModulation = GeneratorModulation(global_code_ch, spatial_code_ch)
        cin = spatial_code_ch
        for i in range(n_base):
            cout = max(spatial_code_ch, round((i + 1) / n_base * nf[0]))
            self.add_module(f"HeadResnetBlock{i}", PreservingBlock(cin, cout, global_code_ch))
            cin = cout
        for j in range(n_up):
            self.add_module(f"UpsamplingResBlock{2 ** (4 + j)}", UpsamplingBlock(cin, nf[j + 1], global_code_ch, blur))
            cin = nf[j + 1]
        self.ToRGB = ToRGB(cin, global_code_ch, blur_kernel=blur)

    def blocks(self):
        return [getattr(self, f"HeadResnetBlock{i}") for i in range(self.n_base)] + \
               [getattr(self, f"UpsamplingResBlock{2 ** (4 + j)}") for j in range(self.n_up)]

    def forward(self, structure, texture):
        structure, texture = normalize(structure), normalize(texture)
        x = self.SpatialCodeModulation(structure, texture)
        for block in self.blocks():
            x = block(x, texture)
        return self.ToRGB(x, texture)


def fix_noise(generator: Generator, height: int, width: int, seed: int) -> None:
    """One fixed N(0, 1) map per noise layer at that layer's resolution (the authors'
    ``fix_and_gather_noise_parameters``), drawn on the CPU from `seed` in module order."""
    rng = torch.Generator().manual_seed(seed)
    h, w = height // 16, width // 16
    for block in generator.blocks():
        if isinstance(block, UpsamplingBlock):
            h, w = h * 2, w * 2
        for conv in (block.conv1, block.conv2):
            conv.noise.fixed_noise = torch.randn(1, 1, h, w, generator=rng).to(conv.noise.weight.device)


# -- the method --------------------------------------------------------------------------------

def load_networks(path) -> tuple[Encoder, Generator, list[str]]:
    state = checkpoints.read_checkpoint(path)
    encoder, generator = Encoder(), Generator()
    checkpoints.load_into(encoder, state, path, prefix="E.")
    checkpoints.load_into(generator, state, path, prefix="G.")
    used = {f"E.{k}" for k in encoder.state_dict()} | {f"G.{k}" for k in generator.state_dict()}
    return encoder, generator, sorted(set(state) - used)  # the discriminators, optimiser counters


@torch.no_grad()
def swap(encoder: Encoder, generator: Generator, content: torch.Tensor, style: torch.Tensor,
         config: SwappingAEConfig, seed: int) -> torch.Tensor:
    """simple_swapping_evaluator: content structure + lerp(content texture, style texture, alpha)."""
    structure, own_texture = encoder(content * 2 - 1)
    _, style_texture = encoder(style * 2 - 1)
    texture = own_texture * (1 - config.texture_mix_alpha) + style_texture * config.texture_mix_alpha
    fix_noise(generator, *content.shape[-2:], seed)
    return (generator(structure, texture).clamp(-1, 1) + 1) / 2


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: SwappingAEConfig = SwappingAEConfig(),
            device="auto", seed: int | None = None, progress=None) -> StylizeResult:
    check_pair(content, style, min_side=112)  # the texture code: two stride-2 3x3 convs on the 1/16 map (>= 7 px)
    name = f"{config.model}/{CHECKPOINT}"
    paths = checkpoints.locate(METHOD, [name], config.weights_dir)
    device, seed = runs.start(content, style, config, device, seed)
    with Meter(device) as meter:
        encoder, generator, ignored = load_networks(paths[name])
        encoder, generator = encoder.to(device).eval(), generator.to(device).eval()
        output = swap(encoder, generator, round_to_multiple(content, 16).to(device), round_to_multiple(style, 16).to(device),
                      config, seed)
        image = runs.to_rgb(output, content.shape[-2:])
    facts = runs.facts(METHOD, config, seed=seed, content=content, style=style, meter=meter, device=device,
                       checkpoint_keys_ignored=len(ignored), **checkpoints.record(paths))
    return StylizeResult(image=image, facts=facts)
