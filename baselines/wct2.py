"""WCT2: photorealistic style transfer via wavelet transforms (Yoo et al., ICCV 2019).

A VGG-19 encoder (to relu4_1) whose max-pools are Haar wavelet poolings: the low band goes on,
the three high bands (LH, HL, HH) skip to the mirrored decoder, which unpools with the transposed
Haar filters and, in the ``cat5`` model, concatenates the four unpooled bands with the encoder's
pre-pooling feature. Stylisation is one progressive pass (``clovaai/WCT2`` ``transfer.py``,
``WCT2.transfer``): WCT at every encoder level (1-4), on every high-frequency skip, and at every
decoder level (the style's features come from encoding and decoding the style image alone).

Published defaults (``transfer.py``): ``option_unpool = cat5``, transfer at encoder + skip +
decoder, ``alpha = 1``, image size 512 (short side); the WCT of FastPhotoStyle's ``photo_wct``:
covariance over N - 1 plus the identity, rank cut at 1e-5, the result clamped to the content
feature's range. No segmentation maps here (the benchmark's pairs have none): the global WCT.
Sides are rounded to multiples of 8 (bilinear) for the three Haar poolings, the output resized back.
``image_size`` resizes the short side first if set; by default the benchmark's size is used.

Checkpoints (as released in the repository's ``model_checkpoints/``): ``wave_encoder_cat5_l4.pth``
and ``wave_decoder_cat5_l4.pth``, plain state dicts read with ``torch.load(weights_only=True)``;
the Haar filters are parameters there too (``pool1.LL.weight`` ...).

Verified here: module names and shapes against the authors' ``model.py`` (``WaveEncoder`` /
``WaveDecoder`` with ``option_unpool='cat5'``, tests/data/wct2_keys.txt), and the level-by-level
order of ``WCT2.transfer``. Not verified (no network here): outputs equal to the released
weights' outputs. The covariance is decomposed in float64 with ``eigh`` (authors: float32 SVD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import checkpoints, runs
from .config import BaselineConfig, positive_int, require
from .wct import feature_wct, resize_short_side, round_to_multiple

METHOD = "wct2"
FILES = ("wave_encoder_cat5_l4.pth", "wave_decoder_cat5_l4.pth")
TRANSFER_AT = ("encoder", "skip", "decoder")
BANDS = ("LL", "LH", "HL", "HH")
POOLED = {"pool1": "conv1_2", "pool2": "conv2_2", "pool3": "conv3_4"}  # the feature each pool takes


@dataclass(frozen=True)
class WCT2Config(BaselineConfig):
    alpha: float = 1.0                   # transfer.py --alpha
    transfer_at: tuple = TRANSFER_AT     # WCT2.__init__ default: all three
    eps: float = 1e-5                    # photo_wct get_rank
    image_size: int | None = None        # transfer.py --image_size 512; None: as the benchmark gives
    weights_dir: str | None = None
    seed: int = 1006                     # unused (deterministic), recorded for uniformity

    def __post_init__(self):
        require(0.0 <= self.alpha <= 1.0, "alpha", f"must be in [0, 1], got {self.alpha}")
        require(len(self.transfer_at) > 0 and set(self.transfer_at) <= set(TRANSFER_AT), "transfer_at",
                f"must be a non-empty subset of {TRANSFER_AT}, got {self.transfer_at}")
        require(self.image_size is None or positive_int(self.image_size), "image_size",
                f"must be a positive integer or null, got {self.image_size}")


def haar_filters() -> dict[str, torch.Tensor]:
    """The four 2x2 Haar filters (model.py ``get_wav``): L = (1, 1)/sqrt 2, H = (-1, 1)/sqrt 2."""
    low = torch.tensor([[1.0, 1.0]]) / math.sqrt(2)
    high = torch.tensor([[-1.0, 1.0]]) / math.sqrt(2)
    return {"LL": low.T * low, "LH": low.T * high, "HL": high.T * low, "HH": high.T * high}


class WaveBands(nn.Module):
    """Four depthwise 2x2 stride-2 filters: pooling (conv) or unpooling (transposed conv)."""

    def __init__(self, channels: int, pool: bool):
        super().__init__()
        self.pool = pool
        for band, kernel in haar_filters().items():
            # Fixed, but parameters in the authors' state dict; so here too.
            setattr(self, band, _BandWeight(kernel.expand(channels, 1, 2, 2).clone()))

    def forward(self, *x):
        op = F.conv2d if self.pool else F.conv_transpose2d
        if self.pool:
            return [op(x[0], getattr(self, b).weight, stride=2, groups=x[0].shape[1]) for b in BANDS]
        return [op(t, getattr(self, b).weight, stride=2, groups=t.shape[1]) for b, t in zip(BANDS, x)]


class _BandWeight(nn.Module):
    """Holds one band's filter as ``weight`` (the authors' ``LL.weight`` etc.)."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, 1, 0)


class WaveEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = _conv(3, 3, 1)
        self.conv1_1, self.conv1_2 = _conv(3, 64), _conv(64, 64)
        self.pool1 = WaveBands(64, pool=True)
        self.conv2_1, self.conv2_2 = _conv(64, 128), _conv(128, 128)
        self.pool2 = WaveBands(128, pool=True)
        self.conv3_1, self.conv3_2 = _conv(128, 256), _conv(256, 256)
        self.conv3_3, self.conv3_4 = _conv(256, 256), _conv(256, 256)
        self.pool3 = WaveBands(256, pool=True)
        self.conv4_1 = _conv(256, 512)

    def _run(self, x, *convs):
        for conv in convs:
            x = F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))
        return x

    def _pool(self, x, skips: dict, name: str, pool: WaveBands):
        """Haar-pool `x`; the high bands go to skips[name], `x` itself to skips[its conv's name]."""
        skips[POOLED[name]] = x
        low, *high = pool(x)
        skips[name] = high
        return low

    def encode(self, x: torch.Tensor, skips: dict, level: int) -> torch.Tensor:
        """One level of the cat5 encoder (model.py ``WaveEncoder.encode``): level 1 ends at relu1_1,
        2 at relu2_1, 3 at relu3_1, 4 at relu4_1; pooled bands and pre-pool features go to `skips`."""
        if level == 1:
            return self._run(self.conv0(x), self.conv1_1)
        if level == 2:
            return self._run(self._pool(self._run(x, self.conv1_2), skips, "pool1", self.pool1), self.conv2_1)
        if level == 3:
            return self._run(self._pool(self._run(x, self.conv2_2), skips, "pool2", self.pool2), self.conv3_1)
        x = self._run(x, self.conv3_2, self.conv3_3, self.conv3_4)
        return self._run(self._pool(x, skips, "pool3", self.pool3), self.conv4_1)


class WaveDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv4_1 = _conv(512, 256)
        self.recon_block3 = WaveBands(256, pool=False)
        self.conv3_4_2, self.conv3_3 = _conv(256 * 5, 256), _conv(256, 256)
        self.conv3_2, self.conv3_1 = _conv(256, 256), _conv(256, 128)
        self.recon_block2 = WaveBands(128, pool=False)
        self.conv2_2_2, self.conv2_1 = _conv(128 * 5, 128), _conv(128, 64)
        self.recon_block1 = WaveBands(64, pool=False)
        self.conv1_2_2, self.conv1_1 = _conv(64 * 5, 64), _conv(64, 3)

    @staticmethod
    def _conv(conv, x, relu=True):
        x = conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        return F.relu(x) if relu else x

    @staticmethod
    def _unpool(block: WaveBands, x, skips: dict, pool: str):
        """cat5: the four unpooled bands and the encoder's feature before that pool."""
        return torch.cat(block(x, *skips[pool]) + [skips[POOLED[pool]]], dim=1)

    def decode(self, x: torch.Tensor, skips: dict, level: int) -> torch.Tensor:
        """One level of the cat5 decoder (model.py ``WaveDecoder.decode``), 4 down to 1."""
        if level == 4:
            x = self._unpool(self.recon_block3, self._conv(self.conv4_1, x), skips, "pool3")
            for conv in (self.conv3_4_2, self.conv3_3, self.conv3_2):
                x = self._conv(conv, x)
            return x
        if level == 3:
            x = self._unpool(self.recon_block2, self._conv(self.conv3_1, x), skips, "pool2")
            return self._conv(self.conv2_2_2, x)
        if level == 2:
            x = self._unpool(self.recon_block1, self._conv(self.conv2_1, x), skips, "pool1")
            return self._conv(self.conv1_2_2, x)
        return self._conv(self.conv1_1, x, relu=False)


def load_networks(paths: dict) -> tuple[WaveEncoder, WaveDecoder]:
    return checkpoints.load_networks(paths, {FILES[0]: WaveEncoder(), FILES[1]: WaveDecoder()})


@torch.no_grad()
def transfer(encoder: WaveEncoder, decoder: WaveDecoder, content: torch.Tensor, style: torch.Tensor,
             config: WCT2Config) -> torch.Tensor:
    """``WCT2.transfer`` without segment maps."""
    def wct(c, s):
        return feature_wct(c, s, config.alpha, eps=config.eps, ridge=1.0, clamp=True)  # photo_wct's WCT

    at = set(config.transfer_at)
    style_skips, style_enc, style_dec = {}, {}, {}
    x = style
    for level in (1, 2, 3, 4):
        x = encoder.encode(x, style_skips, level)
        style_enc[level] = x
    if "encoder" not in at:  # get_all_feature: then the decoder's input is matched too
        style_dec[4] = x
    for level in (4, 3, 2):  # the style's decoder features, which the content's decoder is matched to
        x = decoder.decode(x, style_skips, level)
        style_dec[level - 1] = x

    skips, x = {}, content
    for level in (1, 2, 3, 4):
        x = encoder.encode(x, skips, level)
        if "encoder" in at:
            x = wct(x, style_enc[level])
    if "skip" in at:
        for pool in ("pool1", "pool2", "pool3"):
            skips[pool] = [wct(c, s) for c, s in zip(skips[pool], style_skips[pool])]
    for level in (4, 3, 2, 1):
        if "decoder" in at and level in style_dec:
            x = wct(x, style_dec[level])
        x = decoder.decode(x, skips, level)
    return x


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: WCT2Config = WCT2Config(), device="auto",
            seed: int | None = None, progress=None) -> StylizeResult:
    paths = checkpoints.locate(METHOD, FILES, config.weights_dir)
    device, seed = runs.start(content, style, config, device, seed)
    with Meter(device) as meter:
        encoder, decoder = (net.to(device).eval() for net in load_networks(paths))
        # Three Haar poolings halve exactly only sides that are multiples of 8.
        x_content = round_to_multiple(resize_short_side(content, config.image_size), 8).to(device)
        x_style = round_to_multiple(resize_short_side(style, config.image_size), 8).to(device)
        output = transfer(encoder, decoder, x_content, x_style, config)
        image = runs.to_rgb(output, content.shape[-2:])
    facts = runs.facts(METHOD, config, seed=seed, content=content, style=style, meter=meter, device=device,
                       **checkpoints.record(paths))
    return StylizeResult(image=image, facts=facts)
