"""CoCosNet: cross-domain correspondence for exemplar-based translation (Zhang et al., CVPR 2020).

The released CelebA-HQ **edge-to-face** model (``microsoft/CoCosNet``, ``checkpoints/celebahqedge``):
the content face becomes a 15-channel edge/distance label (``data/celebahqedge_dataset.py``), two
domain adaptors map that label and the exemplar (the style face) into a shared feature space,
a cosine correlation (3x3 patches, temperature 0.01) warps the exemplar's colours onto the content,
and a SPADE generator paints the face from the warped exemplar and the label
(``models/pix2pix_model.py`` ``inference``). Input and output are 256 x 256 (the generator's
latent grid is fixed by the released ``crop_size``); other sizes are resized there (Pillow
bilinear) and back.

Options are those of the authors' test command for this model (README): ``--use_attention
--maskmix --PONO --PONO_C --warp_bilinear --adaptor_kernel 4``, with the defaults of
``options/base_options.py`` (``ngf 64``, ``match_kernel 3``, ``warp_stride 4``, ``CBN_intype
warp_mask``, ``norm_E spectralinstance``, ``norm_G spectralspadesyncbatch3x3`` (parameter-free
positional norm under ``PONO``), spectral norm, not equalised lr) and ``label_nc 15``.

The label: Canny edges of the content (scikit-image's ``feature.canny`` as the authors call it)
plus, for each of 13 CelebAMask-HQ face parts, the part's boundary and an L1 distance map to it.
The call shape carries no part masks, so `label` gets none, and the label is what the authors'
loader builds for a face whose annotation files are absent: Canny edges everywhere, distance
maps at their ceiling (1.0), no part boundaries. Every output records this (``label_note``).
`label` takes the masks (``{part: HxW array}``) when a caller has them.

Checkpoints: ``latest_net_Corr.pth`` and ``latest_net_G.pth`` (``util.save_network``:
``net.cpu().state_dict()``), loaded strictly with ``torch.load(weights_only=True)``; spectral
norms' ``weight_orig`` / ``weight_u`` / ``weight_v`` are PyTorch's own (``torch.nn.utils.spectral_norm``).

Verified here: all parameter and buffer names and shapes of ``NoVGGCorrespondence`` and
``SPADEGenerator`` under those options (tests/data/cocosnet_keys.txt, derived from the authors'
``correspondence.py``, ``generator.py``, ``architecture.py``, ``normalization.py``), and the label
construction. Not verified (no network here): outputs equal to the released weights' outputs.
Differences: the L1 distance transform is SciPy's taxicab chamfer (OpenCV's ``DIST_L1`` mask 3,
which the authors call, computes the same distance).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from skimage import feature
from torch import nn
from torch.nn.utils import spectral_norm

from dtp_core.images import resize, to_tensor, to_uint8
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import checkpoints, runs
from .config import BaselineConfig, require

METHOD = "cocosnet"
FILES = ("latest_net_Corr.pth", "latest_net_G.pth")
SIZE = 256
LABEL_NC = 15
NGF = 64
# celebahqedge_dataset.py: the parts whose boundaries and distance maps make up the label.
INNER_PARTS = ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "l_ear", "r_ear", "nose", "u_lip", "mouth", "l_lip",
               "eye_g", "hair")
NO_MASKS_NOTE = ("no CelebAMask-HQ part masks: the label is Canny edges only, as the authors' loader builds it for a "
                 "face without annotation files")


@dataclass(frozen=True)
class CoCosNetConfig(BaselineConfig):
    temperature: float = 0.01       # NoVGGCorrespondence.forward default
    weights_dir: str | None = None
    seed: int = 1006                # unused (inference is deterministic), recorded for uniformity

    def __post_init__(self):
        require(self.temperature > 0, "temperature", f"must be positive, got {self.temperature}")


# -- the input label (data/celebahqedge_dataset.py get_label_tensor) ---------------------------

def _boundaries(edge: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mark both pixels of every horizontal and vertical label change (the authors' get_edges)."""
    horizontal, vertical = labels[:, 1:] != labels[:, :-1], labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    return edge


def _distance_map(edge: np.ndarray) -> np.ndarray:
    """clip(L1 distance to the nearest edge pixel / 3, 0, 255) as uint8; 255 where there is no edge."""
    if not edge.any():
        return np.full(edge.shape, 255, np.uint8)
    distance = ndimage.distance_transform_cdt(edge == 0, metric="taxicab")
    return np.clip(distance / 3, 0, 255).astype(np.uint8)


def label(image_rgb8: np.ndarray, part_masks: dict[str, np.ndarray] | None = None, size: int = SIZE) -> torch.Tensor:
    """(1, 15, size, size) label of an (H, W, 3) uint8 face: [all edges, 13 part distance maps, part edges]."""
    img = Image.fromarray(image_rgb8).resize((size, size), Image.BILINEAR)
    part_masks = part_masks or {}
    inner = np.ones((size, size), np.uint8)
    edges = np.zeros((size, size), bool)
    distances = []
    for part in INNER_PARTS:
        edge = np.zeros((size, size), bool)
        if part in part_masks:
            mask = np.array(Image.fromarray(np.asarray(part_masks[part], np.uint8)).convert("L")
                            .resize((size, size), Image.NEAREST))
            inner[mask == 255] = 1 if part == "hair" else 0
            edges = _boundaries(edges, mask)
            edge = _boundaries(edge, mask)
        distances.append(_distance_map(edge))
    canny = feature.canny(np.array(img.convert("L"))) * inner
    all_edges = np.clip(edges + canny, 0, 1)
    channels = [all_edges.astype(np.float32)] + [d.astype(np.float32) / 255 for d in distances] + [edges.astype(np.float32)]
    return torch.from_numpy(np.stack(channels)).unsqueeze(0)


# -- building blocks (architecture.py, normalization.py, correspondence.py) ---------------------

def positional_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """PONO: normalise each position across channels (unbiased variance, as ``Tensor.var``)."""
    return (x - x.mean(dim=1, keepdim=True)) / (x.var(dim=1, keepdim=True) + eps).sqrt()


class SPADE(nn.Module):
    """Positional norm, then a per-pixel scale and shift predicted from the (resized) condition."""

    def __init__(self, channels: int, label_nc: int, hidden: int = 128):
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(label_nc, hidden, 3), nn.ReLU())
        self.pad = nn.ReflectionPad2d(1)
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3)

    def forward(self, x, condition):
        actv = self.mlp_shared(F.interpolate(condition, size=x.shape[2:], mode="nearest"))
        return positional_norm(x) * (1 + self.mlp_gamma(self.pad(actv))) + self.mlp_beta(self.pad(actv))


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_nc: int):
        super().__init__()
        self.learned_shortcut = fin != fout
        middle = min(fin, fout)
        self.pad = nn.ReflectionPad2d(1)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, middle, 3))
        self.conv_1 = spectral_norm(nn.Conv2d(middle, fout, 3))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0, self.norm_1 = SPADE(fin, label_nc), SPADE(middle, label_nc)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc)

    def forward(self, x, condition):
        shortcut = self.conv_s(self.norm_s(x, condition)) if self.learned_shortcut else x
        dx = self.conv_0(self.pad(F.leaky_relu(self.norm_0(x, condition), 0.2)))
        dx = self.conv_1(self.pad(F.leaky_relu(self.norm_1(dx, condition), 0.2)))
        return shortcut + dx


class Attention(nn.Module):
    """Self-attention (SAGAN) with spectral norms, as the generator's ``attn``."""

    def __init__(self, ch: int):
        super().__init__()
        self.ch = ch
        self.theta = spectral_norm(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.phi = spectral_norm(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.g = spectral_norm(nn.Conv2d(ch, ch // 2, 1, bias=False))
        self.o = spectral_norm(nn.Conv2d(ch // 2, ch, 1, bias=False))
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        b, _, h, w = x.shape
        theta = self.theta(x).view(b, self.ch // 8, h * w)
        phi = F.max_pool2d(self.phi(x), 2).view(b, self.ch // 8, h * w // 4)
        g = F.max_pool2d(self.g(x), 2).view(b, self.ch // 2, h * w // 4)
        beta = F.softmax(theta.transpose(1, 2) @ phi, dim=-1)
        return self.gamma * self.o((g @ beta.transpose(1, 2)).view(b, self.ch // 2, h, w)) + x


def _encoder_conv(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    """norm_E 'spectralinstance': spectral-normed conv, its bias removed, then InstanceNorm."""
    conv = spectral_norm(nn.Conv2d(cin, cout, k, stride=stride, padding=1, bias=False))
    return nn.Sequential(conv, nn.InstanceNorm2d(cout, affine=False))


class AdaptiveFeatureGenerator(nn.Module):
    """The domain adaptor: 5 convs (two of kernel 4, stride 2) then 3 SPADE blocks conditioned on its input."""

    def __init__(self, in_nc: int, adaptor_kernel: int = 4):
        super().__init__()
        nf = NGF
        self.layer1 = _encoder_conv(in_nc, nf, 3, 1)
        self.layer2 = _encoder_conv(nf, nf * 2, adaptor_kernel, 2)
        self.layer3 = _encoder_conv(nf * 2, nf * 4, 3, 1)
        self.layer4 = _encoder_conv(nf * 4, nf * 8, adaptor_kernel, 2)
        self.layer5 = _encoder_conv(nf * 8, nf * 8, 3, 1)
        self.head_0 = SPADEResnetBlock(8 * nf, 8 * nf, in_nc)
        self.G_middle_0 = SPADEResnetBlock(8 * nf, 8 * nf, in_nc)
        self.G_middle_1 = SPADEResnetBlock(8 * nf, 4 * nf, in_nc)

    def forward(self, x, condition):
        x = self.layer1(x)
        for layer in (self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(F.leaky_relu(x, 0.2))
        for block in (self.head_0, self.G_middle_0, self.G_middle_1):
            x = block(x, condition)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.padding1, self.padding2 = nn.ReflectionPad2d(1), nn.ReflectionPad2d(1)
        self.conv1, self.conv2 = nn.Conv2d(ch, ch, 3), nn.Conv2d(ch, ch, 3)
        self.bn1, self.bn2 = nn.InstanceNorm2d(ch), nn.InstanceNorm2d(ch)
        self.prelu = nn.PReLU()

    def forward(self, x):
        out = self.prelu(self.bn1(self.conv1(self.padding1(x))))
        return self.prelu(self.bn2(self.conv2(self.padding2(out))) + x)


def feature_normalize(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.norm(x, 2, 1, keepdim=True) + sys.float_info.epsilon)


class NoVGGCorrespondence(nn.Module):
    """Adaptors + 4 residual blocks (maskmix: the label is concatenated) + theta/phi, then the warp."""

    def __init__(self):
        super().__init__()
        self.adaptive_model_seg = AdaptiveFeatureGenerator(LABEL_NC)
        self.adaptive_model_img = AdaptiveFeatureGenerator(3)
        ch = NGF * 4 + LABEL_NC
        self.layer = nn.Sequential(*(ResidualBlock(ch) for _ in range(4)))
        self.phi = nn.Conv2d(ch, 256, 1)
        self.theta = nn.Conv2d(ch, 256, 1)

    @staticmethod
    def _patches(x: torch.Tensor) -> torch.Tensor:
        """3x3 patches (match_kernel 3), centred and L2-normalised per position (PONO_C)."""
        x = F.unfold(x, kernel_size=3, padding=1)
        x = x - x.mean(dim=1, keepdim=True)
        return x / (torch.norm(x, 2, 1, keepdim=True) + sys.float_info.epsilon)

    def forward(self, ref_img, seg_map, ref_seg_map, temperature: float = 0.01) -> torch.Tensor:
        """The exemplar's colours warped onto the content, (1, 3, 256, 256) in [-1, 1]."""
        b, _, h, w = ref_img.shape
        feat_seg = feature_normalize(self.adaptive_model_seg(seg_map, seg_map))
        feat_img = feature_normalize(self.adaptive_model_img(ref_img, ref_img))
        seg = F.interpolate(seg_map, size=feat_seg.shape[2:], mode="nearest")
        ref_seg = F.interpolate(ref_seg_map, size=feat_img.shape[2:], mode="nearest")
        content = self.layer(torch.cat((feat_seg, seg), 1))
        reference = self.layer(torch.cat((feat_img, ref_seg), 1))
        theta, phi = self._patches(self.theta(content)), self._patches(self.phi(reference))
        attention = F.softmax(theta.transpose(1, 2) @ phi / temperature, dim=-1)
        down = h // feat_seg.shape[2]
        colours = F.avg_pool2d(ref_img, down).flatten(2).transpose(1, 2)
        warped = (attention @ colours).transpose(1, 2).reshape(b, 3, h // down, w // down)
        return F.interpolate(warped, scale_factor=down, mode="bilinear", align_corners=False)  # warp_bilinear


class SPADEGenerator(nn.Module):
    """fc on an 8x8 grid, 7 SPADE blocks with x2 nearest upsampling between, attention at 128 px."""

    def __init__(self, size: int = SIZE):
        super().__init__()
        self.latent = size // 32  # compute_latent_vector_size: crop_size / 2^5 (aspect ratio 1)
        nf, ic = NGF, 3 + LABEL_NC  # CBN_intype warp_mask: warped exemplar + label
        self.fc = nn.Conv2d(ic, 16 * nf, 3, padding=1)
        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, ic)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, ic)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, ic)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, ic)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, ic)
        self.attn = Attention(4 * nf)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, ic)
        self.up_3 = SPADEResnetBlock(2 * nf, nf, ic)
        self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)

    def forward(self, condition):
        def up(t):
            return F.interpolate(t, scale_factor=2, mode="nearest")

        x = self.fc(F.interpolate(condition, size=(self.latent, self.latent), mode="nearest"))
        x = self.head_0(x, condition)
        x = self.G_middle_1(self.G_middle_0(up(x), condition), condition)
        x = self.up_1(up(self.up_0(up(x), condition)), condition)
        x = self.up_3(up(self.up_2(self.attn(up(x)), condition)), condition)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# -- the method --------------------------------------------------------------------------------

def load_networks(paths: dict) -> tuple[NoVGGCorrespondence, SPADEGenerator]:
    return checkpoints.load_networks(paths, {FILES[0]: NoVGGCorrespondence(), FILES[1]: SPADEGenerator()})


@torch.no_grad()
def translate(corr: NoVGGCorrespondence, gen: SPADEGenerator, content_label: torch.Tensor, style: torch.Tensor,
              style_label: torch.Tensor, temperature: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """pix2pix_model.inference: (output, warped exemplar), both (1, 3, 256, 256) in [0, 1].

    `style` is the 256 x 256 exemplar in [0, 1] (the network sees it in [-1, 1])."""
    warped = corr(style * 2 - 1, content_label, style_label, temperature)
    output = gen(torch.cat((warped, content_label), 1))
    return (output + 1) / 2, (warped + 1) / 2


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: CoCosNetConfig = CoCosNetConfig(), device="auto",
            seed: int | None = None, progress=None) -> StylizeResult:
    paths = checkpoints.locate(METHOD, FILES, config.weights_dir)
    device, seed = runs.start(content, style, config, device, seed)
    with Meter(device) as meter:
        corr, gen = (net.to(device).eval() for net in load_networks(paths))
        labels = [label(to_uint8(image)).to(device) for image in (content, style)]
        style_256 = to_tensor(resize(to_uint8(style), (SIZE, SIZE))).to(device)
        output, warped = translate(corr, gen, labels[0], style_256, labels[1], config.temperature)
        image, warped = (runs.to_rgb(x, content.shape[-2:]) for x in (output, warped))
    facts = runs.facts(METHOD, config, seed=seed, content=content, style=style, meter=meter, device=device,
                       label_note=NO_MASKS_NOTE, **checkpoints.record(paths))
    return StylizeResult(image=image, facts=facts, extras={"warped": warped})
