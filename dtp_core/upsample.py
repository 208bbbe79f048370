"""Edge-aware upsampling: carry a small stylised output to the full-resolution content.

Photorealistic style transfer output is close to a locally affine colour transform of the content
(Luan et al. 2017's photorealism constraint), and unlike pixels an affine colour map can be carried
to another size. So, at the working size, fit a 3x3 matrix A and an offset b per pixel over a box
window (the colour guided filter of He et al. 2013), average them over the same window, upsample
the 12 coefficient maps bilinearly and apply them to the full-size content (He & Sun 2015's "Fast
Guided Filter", as in bilateral guided upsampling): colours come from the stylised output, edges
and texture from the full-size content. Works on any method's output.

The per-window ridge pulls each fit towards the image's global least-squares affine fit instead of
towards zero: an output that is exactly an affine transform of the content (output == content
included) is then reproduced exactly at any size, and a flat window takes the global transform
plus a local offset instead of a flat colour.

The full-size coefficient maps (12 x H x W floats, 1.9 GB at 40 MP) are never built: coefficients
are interpolated along y once at the working width (12 x H x w), then along x one band of output
rows at a time, both with F.interpolate's own rule (bilinear, align_corners=False), so bands join
without seams.

Not kornia's `filters.guided_blur(guidance, input, kernel_size, eps, subsample=...)` (kornia is
not a dependency): it filters an input that exists at full size, by an integer factor, regularised
towards zero and with full-size coefficient maps, so it can neither carry a small output to an
arbitrary size nor reproduce an affine transform exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import ConfigError

GLOBAL_RIDGE = 1e-10  # the global fit's ridge, relative to the trace of the content's covariance


@dataclass(frozen=True)
class UpsamplerConfig:
    # 9x9 windows at a 256 px working size (~3.5 % of the side): 81 pixels for 12 parameters, yet
    # small enough that neighbouring objects get their own colour transform; the second averaging
    # makes the coefficients' support 17 px, which also hides the working grid once upsampled.
    radius: int = 4
    # In colour variances of [0, 1] images: a window whose colours vary by less than ~0.01 (about
    # 2.5 grey levels: noise, JPEG blocks) keeps the global transform instead of fitting that noise.
    eps: float = 1e-4
    tile_rows: int = 512  # output rows per band: bounds the temporaries (12 x tile_rows x W floats)

    def __post_init__(self):
        if isinstance(self.radius, bool) or not isinstance(self.radius, int) or self.radius < 1:
            raise ConfigError("radius", f"is {self.radius!r}",
                              "use a whole number of working-size pixels >= 1 (e.g. 4)")
        if isinstance(self.eps, bool) or not isinstance(self.eps, (int, float)) \
                or not math.isfinite(self.eps) or self.eps <= 0:
            raise ConfigError("eps", f"is {self.eps!r}", "use a finite number > 0 (e.g. 1e-4)")
        if isinstance(self.tile_rows, bool) or not isinstance(self.tile_rows, int) or self.tile_rows < 1:
            raise ConfigError("tile_rows", f"is {self.tile_rows!r}", "use a whole number of rows >= 1 (e.g. 512)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _box(planes: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of (1, C, h, w) over each (2r+1)^2 window, counting only the part inside the image.

    A window clipped by the border is still a rectangle, so the mean is separable, and each 1-D
    window sum is a difference of two running sums: a few reads a pixel whatever the radius (a 9x9
    average pool costs ~3x more here)."""
    return _window_mean(_window_mean(planes, radius, 3), radius, 2)


def _window_mean(planes: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    n = planes.shape[dim]
    running = torch.cat((torch.zeros_like(planes.narrow(dim, 0, 1)), planes.cumsum(dim)), dim)
    index = torch.arange(n, device=planes.device)
    high, low = (index + radius + 1).clamp(max=n), (index - radius).clamp(min=0)
    counts = (high - low).to(planes.dtype).view([-1 if d == dim else 1 for d in range(planes.dim())])
    return (running.index_select(dim, high) - running.index_select(dim, low)) / counts


@torch.no_grad()
def fit_coefficients(content_small: torch.Tensor, output_small: torch.Tensor, *, radius: int,
                     eps: float) -> torch.Tensor:
    """Local affine colour model `output ~ A content + b` of two (1, 3, h, w) images: (1, 12, h, w)
    float32, the rows of A (9 channels) then b (3), after the guided filter's second averaging.

    Statistics and 3x3 solves run in float64 (cheap at the working size): float32 covariances,
    divided by eps, would cost the exact-affine reproduction three digits. A radius beyond the
    image is fine: windows are clipped to the image, so the fit tends to the global one.
    """
    _, _, h, w = content_small.shape
    n = h * w
    image = content_small[0].double().reshape(3, n)
    target = output_small[0].double().reshape(3, n)
    mean_image, mean_target = image.mean(1, keepdim=True), target.mean(1, keepdim=True)
    image, target = image - mean_image, target - mean_target  # centred: no cancellation in E[xy] - E[x]E[y]
    eye = torch.eye(3, dtype=torch.float64, device=image.device)

    sigma = image @ image.t() / n
    ridge = GLOBAL_RIDGE * sigma.trace() + 1e-30  # the floor keeps a flat content solvable
    a_global = torch.linalg.solve(sigma + ridge * eye, (target @ image.t() / n).t()).t()  # (3, 3)

    planes = torch.cat((image, target, (image[:, None] * image[None]).reshape(9, n),
                        (target[:, None] * image[None]).reshape(9, n)))
    means = _box(planes.view(1, 24, h, w), radius).view(24, n).t()  # (n, 24)
    mean_i, mean_p = means[:, :3], means[:, 3:6]
    sigma = means[:, 6:15].reshape(n, 3, 3) - mean_i[:, :, None] * mean_i[:, None, :]
    cross = means[:, 15:].reshape(n, 3, 3) - mean_p[:, :, None] * mean_i[:, None, :]  # cov(p_row, I_col)
    # A (Sigma + eps Id) = cov(p, I) + eps A_global; Sigma is symmetric, so solve for A^T.
    a = torch.linalg.solve(sigma + eps * eye, (cross + eps * a_global).transpose(1, 2)).transpose(1, 2)
    b = (mean_p + mean_target.t()) - (a @ (mean_i + mean_image.t())[:, :, None])[:, :, 0]
    coefficients = torch.cat((a.reshape(n, 9), b), dim=1).t().reshape(1, 12, h, w)
    return _box(coefficients, radius).float()


@torch.no_grad()
def apply_coefficients(coefficients: torch.Tensor, content_full: torch.Tensor, *,
                       tile_rows: int = 512) -> torch.Tensor:
    """`A content_full + b` clamped to [0, 1]: (1, 3, H, W), with the (1, 12, h, w) coefficients
    upsampled as F.interpolate(bilinear, align_corners=False) would, one band of rows at a time."""
    _, _, _, w = coefficients.shape
    _, _, height, width = content_full.shape
    # Bilinear is separable: along y once at the working width (12 x H x w, small), then along x one
    # band at a time (at an unchanged height F.interpolate is the identity along y), so every band is
    # made by the same rule as the whole map would be and bands join without seams.
    columns = F.interpolate(coefficients, size=(height, w), mode="bilinear", align_corners=False)
    out = torch.empty_like(content_full)
    image, result = content_full[0], out[0]
    for y0 in range(0, height, tile_rows):
        y1 = min(y0 + tile_rows, height)
        band = F.interpolate(columns[:, :, y0:y1], size=(y1 - y0, width), mode="bilinear", align_corners=False)[0]
        guide, target = image[:, y0:y1], result[:, y0:y1]
        for i in range(3):
            torch.addcmul(band[9 + i], band[3 * i], guide[0], out=target[i])
            target[i].addcmul_(band[3 * i + 1], guide[1]).addcmul_(band[3 * i + 2], guide[2])
        target.clamp_(0, 1)
    return out


def _check_image(name: str, image) -> None:
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"{name} is a {type(image).__name__}; pass a (1, 3, H, W) float tensor in [0, 1] "
                         "(images.to_tensor makes one)")
    if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3 or image.numel() == 0:
        raise ValueError(f"{name} has shape {tuple(image.shape)}, expected (1, 3, H, W); pass one RGB image "
                         "(add the batch axis with .unsqueeze(0), drop alpha with [:, :3])")
    if not image.is_floating_point():
        raise ValueError(f"{name} has shape {tuple(image.shape)} and dtype {image.dtype}; convert it to float in "
                         "[0, 1] (e.g. .float() / 255, or images.to_tensor)")


@torch.no_grad()
def upsample(content_small: torch.Tensor, output_small: torch.Tensor, content_full: torch.Tensor,
             config: UpsamplerConfig = UpsamplerConfig()) -> torch.Tensor:
    """Carry `output_small` (1, 3, h, w), a stylisation of `content_small` (1, 3, h, w), to
    `content_full` (1, 3, H, W): (1, 3, H, W) float32 in [0, 1]. Any H, W (any aspect ratio,
    larger or smaller); any h, w (a radius beyond the working image makes the fit global)."""
    for name, image in (("content_small", content_small), ("output_small", output_small),
                        ("content_full", content_full)):
        _check_image(name, image)
    if output_small.shape != content_small.shape:
        raise ValueError(f"output_small has shape {tuple(output_small.shape)} but content_small has "
                         f"{tuple(content_small.shape)}; pass the content at the size the output was made at")
    if not content_small.device == output_small.device == content_full.device:
        raise ValueError(f"content_small, output_small, content_full are on {content_small.device}, "
                         f"{output_small.device}, {content_full.device}; move them to one device")
    coefficients = fit_coefficients(content_small, output_small, radius=config.radius, eps=config.eps)
    return apply_coefficients(coefficients, content_full.float(), tile_rows=config.tile_rows)
