"""The edge-aware upsampler: exact on affine colour transforms, seamless tiles, F.interpolate's
sampling rule, sharper than bilinear at edges, bounded memory, clear refusals.

Tolerances: the fit runs in float64 and stores float32 coefficients (rounding ~6e-8 relative), the
output is a 3-term dot product in float32 (~1e-7 on values <= 1). The float32 rounding of the small
output itself (~3e-8) reaches A through the solve divided by at most eps = 1e-4, a few 1e-6 at worst.
Observed errors are ~1e-7, so 1e-4 / 1e-5 leave a wide margin yet catch any real mistake: a fit
regularised towards zero instead of the global transform is off by ~1e-2 in low-variance windows.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from dtp_core.images import resize, to_tensor
from dtp_core.upsample import UpsamplerConfig, apply_coefficients, fit_coefficients, upsample

from conftest import REPO

ASTRONAUT = data.astronaut()  # 512 x 512 RGB, shipped with scikit-image (no download)


def astronaut(width: int, height: int) -> torch.Tensor:
    return to_tensor(resize(ASTRONAUT, (height, width)))


def affine(image: torch.Tensor, matrix: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(image.dtype), image) + offset.to(image.dtype).view(1, 3, 1, 1)


def random_affine(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """M near a scaled identity and c such that M I + c stays in [0, 1] for every I in [0, 1]^3
    (diagonal 0.55 +- 0.075, off-diagonal +- 0.075, offset 0.15: range [0, 0.925]), so the
    upsampler's clamp never hides an error."""
    g = torch.Generator().manual_seed(seed)
    matrix = 0.55 * torch.eye(3) + 0.075 * (2 * torch.rand(3, 3, generator=g) - 1)
    return matrix, torch.full((3,), 0.15)


@pytest.mark.parametrize("full_size", [(64, 48), (200, 150), (333, 250), (97, 301)])
def test_affine_transform_is_reproduced_at_any_size(full_size):
    matrix, offset = random_affine(seed=sum(full_size))
    content_small = astronaut(64, 48)
    output_small = affine(content_small, matrix, offset)
    content_full = astronaut(*full_size)
    result = upsample(content_small, output_small, content_full)
    assert result.shape == (1, 3, full_size[1], full_size[0]) and result.dtype == torch.float32
    expected = affine(content_full.double(), matrix.double(), offset.double())
    assert (result.double() - expected).abs().max().item() < 1e-4
    # Layout of the coefficients: rows of A (9 channels), then b (3), the same at every pixel.
    coefficients = fit_coefficients(content_small, output_small, radius=4, eps=1e-4)
    assert coefficients.shape == (1, 12, 48, 64)
    assert (coefficients[0, :9] - matrix.reshape(9, 1, 1)).abs().max().item() < 1e-4
    assert (coefficients[0, 9:] - offset.view(3, 1, 1)).abs().max().item() < 1e-4


def test_identity_output_gives_the_full_content():
    content_small, content_full = astronaut(64, 48), astronaut(400, 300)
    result = upsample(content_small, content_small.clone(), content_full)
    assert (result - content_full).abs().max().item() < 1e-5


def nonlinear_output(content: torch.Tensor) -> torch.Tensor:
    """A stylisation no single affine map explains: a gamma curve and a left-to-right tint."""
    ramp = torch.linspace(0, 1, content.shape[-1]).view(1, 1, 1, -1)
    return (content.pow(1.8) * torch.tensor([1.0, 0.8, 0.6]).view(1, 3, 1, 1) + 0.2 * ramp).clamp(0, 1)


def test_tiles_join_without_seams_and_match_dense_interpolation():
    content_small = astronaut(64, 48)
    coefficients = fit_coefficients(content_small, nonlinear_output(content_small), radius=4, eps=1e-4)
    for width, height in ((301, 257), (20, 30)):  # up- and down-sampling
        content_full = astronaut(width, height)
        tiled = apply_coefficients(coefficients, content_full, tile_rows=7)
        whole = apply_coefficients(coefficients, content_full, tile_rows=100_000)
        assert (tiled - whole).abs().max().item() < 1e-6
        dense = F.interpolate(coefficients, size=(height, width), mode="bilinear", align_corners=False)[0]
        a, b = dense[:9].reshape(3, 3, height, width), dense[9:]
        reference = ((a * content_full[0][None]).sum(1) + b).clamp(0, 1)[None]
        assert (tiled - reference).abs().max().item() < 1e-5


def test_odd_sizes_and_aspect_ratios_keep_shape_and_range():
    g = torch.Generator().manual_seed(3)
    for (h, w), (height, width) in (((40, 90), (123, 277)), ((90, 40), (277, 123)), ((7, 5), (3, 2))):
        content_small = torch.rand(1, 3, h, w, generator=g)
        output_small = torch.rand(1, 3, h, w, generator=g)  # unrelated to the content: extrapolates
        result = upsample(content_small, output_small, torch.rand(1, 3, height, width, generator=g))
        assert result.shape == (1, 3, height, width)
        assert torch.isfinite(result).all() and result.min() >= 0 and result.max() <= 1


def edge_scene(size: int = 256, factor: int = 4):
    """Two textured halves split by a sharp vertical edge; the "stylisation" is a different affine
    map on each side. Returns (content_small, output_small, content_full, truth): the working-size
    content (size / factor, edge between columns size/2/factor - 1 and size/2/factor), its
    stylisation, the full-size content and the exact full-size stylisation. Also measured by
    `benchmarks/fullres.py --edge`."""
    g = torch.Generator().manual_seed(1)
    left = (torch.arange(size) < size // 2).view(1, 1, 1, size)
    colour_x, colour_y = torch.tensor([0.65, 0.35, 0.25]), torch.tensor([0.25, 0.45, 0.65])
    coarse = F.interpolate(torch.rand(1, 3, 32, 32, generator=g) - 0.5, size=(size, size), mode="bilinear",
                           align_corners=False)
    fine = torch.rand(1, 3, size, size, generator=g) - 0.5
    content_full = torch.where(left, colour_x.view(1, 3, 1, 1), colour_y.view(1, 3, 1, 1)) + 0.3 * coarse + 0.06 * fine
    content_small = F.avg_pool2d(content_full, factor)
    m1, c1 = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.6, 0.0], [0.0, 0.1, 0.4]]), torch.tensor([0.05, 0.1, 0.1])
    m2, c2 = torch.tensor([[0.3, 0.2, 0.1], [0.0, 0.5, 0.3], [0.2, 0.0, 0.9]]), torch.tensor([0.2, 0.05, 0.0])
    output_small = torch.where(left[..., ::factor], affine(content_small, m1, c1), affine(content_small, m2, c2))
    truth = torch.where(left, affine(content_full, m1, c1), affine(content_full, m2, c2))
    return content_small, output_small, content_full, truth


def test_edges_stay_sharper_than_bilinear_upsampling():
    """Bilinear upsampling of the small output loses the fine texture everywhere and smears the
    edge; the upsampler takes both from the full-size content. Radius 1 at a 64 px working size is
    the default window (4 at 256 px) relative to the image."""
    size = 256
    content_small, output_small, content_full, truth = edge_scene(size)
    assert 0 <= truth.min() and truth.max() <= 1  # nothing clamped away

    ours = (upsample(content_small, output_small, content_full, UpsamplerConfig(radius=1)) - truth).abs()
    bilinear = (F.interpolate(output_small, size=(size, size), mode="bilinear", align_corners=False) - truth).abs()
    assert bilinear.mean() > 3 * ours.mean()
    near_edge = slice(size // 2 - 8, size // 2 + 8)  # two working-size pixels either side
    assert bilinear[..., near_edge].mean() > 3 * ours[..., near_edge].mean()


def test_memory_stays_below_one_full_size_coefficient_map():
    """torch's CPU allocations are invisible to tracemalloc, so the call runs in a fresh Python and
    its peak RSS (ru_maxrss, a high-water mark) is read before and after. For a 3000 x 4000 output
    the inputs are allocated first; the call itself then needs the output (144 MB), the coefficients
    along x (12 x 128 x 4000 floats, 25 MB) and two bands (12 MB each at 64 rows): ~200 MB. Building
    the 12 x H x W coefficient maps instead would take 576 MB on their own, the bound asserted."""
    height, width = 3000, 4000
    script = textwrap.dedent(f"""
        import resource, sys, torch
        torch.set_num_threads(2)
        from dtp_core.upsample import UpsamplerConfig, upsample
        g = torch.Generator().manual_seed(0)
        small = torch.rand(1, 3, 128, 128, generator=g)
        full = torch.rand(1, 3, {height}, {width}, generator=g)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = upsample(small, small.flip(1), full, UpsamplerConfig(tile_rows=64))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) * (1 if sys.platform == "darwin" else 1024), out.shape[2] * out.shape[3])
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    growth, pixels = map(int, done.stdout.split())
    assert pixels == height * width
    assert growth < 12 * height * width * 4, f"peak RSS grew by {growth / 2**20:.0f} MiB"


def test_bad_inputs_are_refused_naming_the_argument():
    small, full = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"output_small has shape \(1, 3, 16, 12\)"):
        upsample(small, torch.rand(1, 3, 16, 12), full)
    with pytest.raises(ValueError, match=r"content_small has shape \(1, 4, 16, 16\)"):
        upsample(torch.rand(1, 4, 16, 16), small, full)
    with pytest.raises(ValueError, match=r"content_full has shape \(3, 32, 32\)"):
        upsample(small, small, full[0])
    with pytest.raises(ValueError, match="content_full .*dtype torch.uint8"):
        upsample(small, small, (full * 255).byte())
    with pytest.raises(ValueError, match="output_small is a ndarray"):
        upsample(small, np.zeros((1, 3, 16, 16), np.float32), full)


@pytest.mark.parametrize("field, value", [("radius", 0), ("radius", 2.5), ("radius", True), ("eps", -1.0),
                                          ("eps", 0.0), ("eps", float("nan")), ("tile_rows", 0)])
def test_bad_config_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}: .*Fix: "):
        UpsamplerConfig(**{field: value})


def test_config_to_dict():
    assert UpsamplerConfig().to_dict() == {"radius": 4, "eps": 1e-4, "tile_rows": 512}
