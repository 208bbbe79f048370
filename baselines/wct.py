"""WCT: universal style transfer via feature transforms (Li et al., NeurIPS 2017).

The authors' procedure (Torch, ``Yijunmaverick/UniversalStyleTransfer`` ``test_wct.lua``), which
this module follows: a fixed "normalised" VGG-19 encodes the image up to relu{k}_1, the content
feature is whitened and coloured with the style feature's covariance (WCT), blended with the
content feature (``alpha``), and decoded by a decoder trained to invert relu{k}_1. The output of
level k is the content input of level k-1, coarse to fine: k = 5, 4, 3, 2, 1.

Published defaults (``test_wct.lua``): ``alpha = 0.6``, WCT (not swap) at every level, rank cut
at singular values < 1e-5, covariance over ``N - 1``; content/style resized to 768 px on the
short side in the latest script (512 in the first). Here the images are used at the size the
benchmark gives (its protocol's 256 x 256); ``content_size`` resizes the short side first if set.

Checkpoints, either set is accepted as released (``baselines/weights.yaml``):
- the authors' Torch7 files ``vgg_normalised_conv{k}_1.t7`` and ``feature_invertor_conv{k}_1.t7``
  (read by `baselines.torch7`, which runs no code; convolutions are taken in order, the first
  one of the encoder being its fixed RGB -> BGR x 255 - mean preprocessing). The five encoder files
  hold the same fixed VGG truncated at five depths; the conv5_1 one serves every level;
- their PyTorch conversion ``vgg19_normalized.pth.tar`` + ``vgg19_normalized_decoder{k}.pth.tar``
  (PytorchWCT's ``convertModels.py``; keys ``preprocess_weight``, ``preprocess_bias``,
  ``seq.conv{b}_{i}.{weight,bias}``), read with ``torch.load(weights_only=True)``.

Verified here: the layer layout and the state-dict names and shapes, against PytorchWCT's
``vgg19_normalized.py`` / ``vgg19_decoders.py`` / ``convertModels.py`` and the Torch module order of
``modelsNIPS.py`` (tests/data/wct_keys.txt); the .t7 reader on files this project writes.
Not verified (no network here): numerical equality with the released weights' outputs.
Differences from the Torch code: the covariance is decomposed in float64 with ``eigh`` (the
authors: float32 SVD); max-pooling floors odd sizes as PyTorch does (Torch7 too, by default).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dtp_core.errors import WeightsFileError
from dtp_core.images import resize, to_tensor, to_uint8
from dtp_core.method import StylizeResult, check_pair
from dtp_core.records import Meter

from . import checkpoints, runs, torch7
from .config import BaselineConfig, positive_int, require

METHOD = "wct"
LEVELS = (5, 4, 3, 2, 1)
# VGG-19 convolutions up to conv5_1: (name, in, out); a 2x2 max-pool follows the last of each block.
VGG_CONVS = (("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
             ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
             ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
             ("conv5_1", 512, 512))
POOL_AFTER = {"conv1_2", "conv2_2", "conv3_4", "conv4_4"}
PTH_FILES = ("vgg19_normalized.pth.tar",) + tuple(f"vgg19_normalized_decoder{k}.pth.tar" for k in (1, 2, 3, 4, 5))
T7_FILES = ("vgg_normalised_conv5_1.t7",) + tuple(f"feature_invertor_conv{k}_1.t7" for k in (1, 2, 3, 4, 5))


@dataclass(frozen=True)
class WCTConfig(BaselineConfig):
    alpha: float = 0.6              # test_wct.lua -alpha
    levels: tuple = LEVELS          # coarse to fine, as the authors run them
    eps: float = 1e-5               # singular values below are dropped (test_wct.lua)
    content_size: int | None = None  # resize the short side first (authors: 768); None: as given
    weights_format: str = "auto"    # "auto" | "pth" (PyTorch conversion) | "t7" (authors' Torch files)
    weights_dir: str | None = None
    seed: int = 1006                # unused (WCT is deterministic), recorded for uniformity

    def __post_init__(self):
        require(0.0 <= self.alpha <= 1.0, "alpha", f"must be in [0, 1], got {self.alpha}")
        require(len(self.levels) > 0 and all(k in LEVELS for k in self.levels), "levels",
                f"must be a non-empty subset of {LEVELS}, got {self.levels}")
        require(self.eps > 0, "eps", f"must be positive, got {self.eps}")
        require(self.content_size is None or positive_int(self.content_size), "content_size",
                f"must be a positive integer or null, got {self.content_size}")
        require(self.weights_format in ("auto", "pth", "t7"), "weights_format", f"unknown {self.weights_format!r}",
                "use auto, pth or t7")


# -- the whitening and colouring transform (WCT2 reuses it) -------------------------------------

def whiten_colour(content: torch.Tensor, style: torch.Tensor, *, eps: float = 1e-5, ridge: float = 0.0,
                  clamp: bool = False) -> torch.Tensor:
    """WCT of (C, N) content features with (C, M) style features; returns (C, N).

    Covariances over N - 1 (M - 1), plus ``ridge * I`` (WCT2 / PhotoWCT add the identity; WCT does
    not); eigenvalues below `eps` are dropped from both the whitening and the colouring. `clamp`
    clips the result to the content's value range (PhotoWCT / WCT2; WCT does not).
    """
    def decompose(feat):
        feat = feat.double()
        mean = feat.mean(dim=1, keepdim=True)
        centred = feat - mean
        cov = centred @ centred.T / max(1, feat.shape[1] - 1)
        if ridge:
            cov = cov + ridge * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
        values, vectors = torch.linalg.eigh(cov)
        keep = values >= eps
        return centred, mean, values[keep], vectors[:, keep]

    c_centred, _, c_values, c_vectors = decompose(content)
    _, s_mean, s_values, s_vectors = decompose(style)
    whitened = c_vectors @ torch.diag(c_values.rsqrt()) @ c_vectors.T @ c_centred
    coloured = s_vectors @ torch.diag(s_values.sqrt()) @ s_vectors.T @ whitened + s_mean
    if clamp:
        coloured = coloured.clamp(content.min().item(), content.max().item())
    return coloured.to(content.dtype)


def feature_wct(content: torch.Tensor, style: torch.Tensor, alpha: float, **kwargs) -> torch.Tensor:
    """WCT of (1, C, H, W) features, blended: alpha * transformed + (1 - alpha) * content."""
    c, h, w = content.shape[1:]
    target = whiten_colour(content.reshape(c, h * w), style.reshape(c, -1), **kwargs).reshape(1, c, h, w)
    return alpha * target + (1 - alpha) * content


# -- networks (names as in PytorchWCT's vgg19_normalized.py / vgg19_decoders.py) -----------------

def _encoder_layers(depth: int) -> "OrderedDict[str, nn.Module]":
    layers = OrderedDict()
    for name, cin, cout in VGG_CONVS:
        block, index = name[4:].split("_")
        layers[f"pad{block}_{index}"] = nn.ReflectionPad2d(1)
        layers[name] = nn.Conv2d(cin, cout, 3)
        layers[f"relu{block}_{index}"] = nn.ReLU()
        if name == f"conv{depth}_1":
            break
        if name in POOL_AFTER:
            layers[f"pool{block}"] = nn.MaxPool2d(2, 2)
    return layers


class NormalisedVGG(nn.Module):
    """The fixed encoder: a 1x1 RGB -> BGR x 255 - mean convolution, then VGG-19 to relu5_1."""

    def __init__(self):
        super().__init__()
        self.register_buffer("preprocess_weight", torch.zeros(3, 3, 1, 1))
        self.register_buffer("preprocess_bias", torch.zeros(3))
        self.seq = nn.Sequential(_encoder_layers(5))

    def forward(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """relu{level}_1 of `x` ((1, 3, H, W) RGB in [0, 1])."""
        x = F.conv2d(x, self.preprocess_weight, self.preprocess_bias)
        for name, layer in self.seq.named_children():
            x = layer(x)
            if name == f"relu{level}_1":
                return x
        raise ValueError(f"level {level} is not one of {LEVELS}")


class Decoder(nn.Module):
    """Inverts relu{level}_1: the encoder's convolutions mirrored, nearest x2 upsampling for pools."""

    def __init__(self, level: int):
        super().__init__()
        layers = OrderedDict()
        depth = [c[0] for c in VGG_CONVS].index(f"conv{level}_1")
        convs = VGG_CONVS[: depth + 1][::-1]
        for name, cin, cout in convs:
            block, index = name[4:].split("_")
            layers[f"pad{block}_{index}"] = nn.ReflectionPad2d(1)
            layers[name] = nn.Conv2d(cout, cin, 3)  # mirrored: out -> in
            if name == "conv1_1":
                break
            layers[f"relu{block}_{index}"] = nn.ReLU()
            if index == "1":
                layers[f"unpool{int(block) - 1}"] = nn.Upsample(scale_factor=2, mode="nearest")
        self.seq = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class WCTNetworks(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = NormalisedVGG()
        self.decoders = nn.ModuleDict({str(k): Decoder(k) for k in LEVELS})


# -- loading -----------------------------------------------------------------------------------

def _available(names, directory) -> dict | None:
    try:
        return checkpoints.locate(METHOD, names, directory)
    except checkpoints.MethodUnavailable:
        return None


def resolve(config: WCTConfig) -> tuple[str, dict]:
    """Which release to load ("pth" or "t7") and its paths; MethodUnavailable when neither is complete."""
    if config.weights_format in ("auto", "pth"):
        found = _available(PTH_FILES, config.weights_dir)
        if found or config.weights_format == "pth":
            return "pth", found or checkpoints.locate(METHOD, PTH_FILES, config.weights_dir)
    found = _available(T7_FILES, config.weights_dir)
    if found or config.weights_format == "t7":
        return "t7", found or checkpoints.locate(METHOD, T7_FILES, config.weights_dir)
    return "pth", checkpoints.locate(METHOD, PTH_FILES, config.weights_dir)  # raises, naming the fetchable set


def load_networks(fmt: str, paths: dict) -> WCTNetworks:
    nets = WCTNetworks()
    if fmt == "pth":
        checkpoints.load_networks(paths, {"vgg19_normalized.pth.tar": nets.encoder,
                                          **{f"vgg19_normalized_decoder{k}.pth.tar": nets.decoders[str(k)]
                                             for k in LEVELS}})
        return nets
    encoder_file = paths["vgg_normalised_conv5_1.t7"]
    _load_t7_convs(nets.encoder, encoder_file, ["preprocess"] + [c[0] for c in VGG_CONVS])
    for k in LEVELS:
        decoder = nets.decoders[str(k)]
        _load_t7_convs(decoder, paths[f"feature_invertor_conv{k}_1.t7"],
                       [name for name, layer in decoder.seq.named_children() if isinstance(layer, nn.Conv2d)])
    return nets


def _load_t7_convs(module: nn.Module, path, names: list[str]) -> None:
    """Copy a Torch7 Sequential's convolutions, in order, into `names` (shapes checked)."""
    convs = torch7.convolutions(torch7.load_t7(path))
    if len(convs) != len(names):
        raise WeightsFileError(path, f"has {len(convs)} convolutions, expected {len(names)}",
                               "pass the authors' file for this level")
    state = {}
    for name, (weight, bias) in zip(names, convs):
        prefix = "preprocess_" if name == "preprocess" else f"seq.{name}."
        state[prefix + "weight"], state[prefix + "bias"] = weight, bias
    checkpoints.load_into(module, state, path)


# -- the method --------------------------------------------------------------------------------

def resize_short_side(image: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear (Pillow, through `dtp_core.images`) resize so that the short side is `size`;
    unchanged when `size` is None."""
    if size is None:
        return image
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    return to_tensor(resize(to_uint8(image), (max(1, round(h * scale)), max(1, round(w * scale)))))


def round_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Bilinear resize of both sides to the nearest multiple of `multiple` (unchanged if they are)."""
    h, w = image.shape[-2:]
    shape = (max(multiple, round(h / multiple) * multiple), max(multiple, round(w / multiple) * multiple))
    return image if shape == (h, w) else to_tensor(resize(to_uint8(image), shape))


@torch.no_grad()
def transfer(nets: WCTNetworks, content: torch.Tensor, style: torch.Tensor, config: WCTConfig) -> torch.Tensor:
    """The multi-level WCT of test_wct.lua: each level re-encodes the previous level's output."""
    image = content
    for k in config.levels:
        content_feat = nets.encoder(image, k)
        style_feat = nets.encoder(style, k)
        image = nets.decoders[str(k)](feature_wct(content_feat, style_feat, config.alpha, eps=config.eps))
    return image


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: WCTConfig = WCTConfig(), device="auto",
            seed: int | None = None, progress=None) -> StylizeResult:
    # relu{k}_1 is 1/2^(k-1) of the input, and reflection padding needs at least 2 px there.
    check_pair(content, style, min_side=2 ** max(config.levels))
    fmt, paths = resolve(config)
    device, seed = runs.start(content, style, config, device, seed)
    with Meter(device) as meter:
        nets = load_networks(fmt, paths).to(device).eval()
        x_content = resize_short_side(content, config.content_size).to(device)
        x_style = resize_short_side(style, config.content_size).to(device)
        output = transfer(nets, x_content, x_style, config)
        image = runs.to_rgb(output, content.shape[-2:])
    facts = runs.facts(METHOD, config, seed=seed, content=content, style=style, meter=meter, device=device,
                       weights_format=fmt, **checkpoints.record(paths))
    return StylizeResult(image=image, facts=facts)
