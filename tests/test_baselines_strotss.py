"""STROTSS: the relaxed EMD, self-similarity and moment losses, hypercolumn sampling, the
Laplacian pyramid and scale schedule, and a few steps at 64 px."""

import itertools

import pytest
import torch

from baselines import strotss
from baselines.strotss import (StrotssConfig, fold_pyramid, grid_positions, make_pyramid, sample_hypercolumns,
                               scale_shapes)
from baselines.strotss_losses import (RGB_TO_YUV, cosine_distances, euclidean_distances, moment_loss, moments,
                                      palette_emd, relaxed_emd, self_similarity_loss)
from dtp_core.errors import ConfigError


def test_cosine_distances():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([[3.0, 0.0], [1.0, 1.0], [-1.0, 0.0]])
    expected = torch.tensor([[0.0, 1 - 2 ** -0.5, 2.0], [1.0, 1 - 2 ** -0.5, 1.0]])
    assert torch.allclose(cosine_distances(x, y), expected, atol=1e-6)


def test_euclidean_distances_are_root_mean_squared():
    x, y = torch.randn(5, 7), torch.randn(4, 7)
    expected = ((x[:, None] - y[None]) ** 2).mean(-1).sqrt()
    assert torch.allclose(euclidean_distances(x, y), expected, atol=1e-4)


def test_relaxed_emd_by_hand():
    x = torch.tensor([[1.0, 0.0]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # x's nearest style point is at 0; the style's nearest output points are at 0 and 1: mean 0.5.
    assert relaxed_emd(x, y).item() == pytest.approx(0.5)
    assert relaxed_emd(y, x).item() == pytest.approx(0.5)
    assert relaxed_emd(y, y).item() == pytest.approx(0.0, abs=1e-6)


def test_relaxed_emd_is_a_lower_bound_of_the_emd():
    torch.manual_seed(0)
    for _ in range(5):
        x, y = torch.randn(5, 3), torch.randn(5, 3)
        cost = cosine_distances(x, y)
        # Equal-size uniform sets: the EMD is the cheapest one-to-one assignment.
        emd = min(sum(cost[i, j] for i, j in enumerate(perm)) / 5 for perm in itertools.permutations(range(5)))
        assert relaxed_emd(x, y) <= emd + 1e-6


def test_relaxed_emd_is_blind_to_order_but_not_to_content():
    torch.manual_seed(1)
    x, y = torch.randn(30, 8), torch.randn(40, 8)
    assert torch.isclose(relaxed_emd(x, y), relaxed_emd(x[torch.randperm(30)], y[torch.randperm(40)]))
    assert relaxed_emd(x, y) > relaxed_emd(y[:30], y)


def test_self_similarity_ignores_scale_but_not_structure():
    torch.manual_seed(2)
    content = torch.rand(20, 6)
    assert self_similarity_loss(content, content).item() == pytest.approx(0.0, abs=1e-6)
    assert self_similarity_loss(3 * content, content).item() == pytest.approx(0.0, abs=1e-5)  # cosine: scale-free
    assert self_similarity_loss(content[torch.randperm(20)], content) > 0.05


def test_moment_loss():
    torch.manual_seed(3)
    y = torch.randn(100, 4)
    mean, cov = moments(y)
    assert torch.allclose(cov, torch.cov(y.T, correction=0), atol=1e-5) and torch.allclose(mean, y.mean(0, keepdim=True))
    assert moment_loss(y, (mean, cov)).item() == pytest.approx(0.0, abs=1e-6)
    assert moment_loss(y + 1, (mean, cov)).item() == pytest.approx(1.0, abs=1e-5)  # means differ by 1, covariances not


def test_palette_uses_an_orthonormal_colour_space():
    assert torch.allclose(RGB_TO_YUV @ RGB_TO_YUV.T, torch.eye(3), atol=1e-5)
    colours = torch.rand(50, 3)
    assert palette_emd(colours, colours).item() == pytest.approx(0.0, abs=1e-2)  # the root's clamp floor
    assert palette_emd(colours, colours * 0.2) > 0.1


def test_the_pyramid_folds_back_to_the_image():
    x = torch.rand(1, 3, 37, 50)
    bands = make_pyramid(x, 5)
    assert len(bands) == 6 and bands[-1].shape[-2:] == (1, 1)
    assert torch.allclose(fold_pyramid(bands), x, atol=1e-5)


def test_scale_schedule():
    assert scale_shapes(256, 256, 64) == [(64, 64), (128, 128), (256, 256)]  # the authors' 256 px output
    assert scale_shapes(437, 700, 64) == [(54, 87), (109, 175), (218, 350), (437, 700)]
    assert scale_shapes(64, 64, 64) == [(64, 64)]
    assert scale_shapes(40, 300, 64) == [(20, 150), (40, 300)]  # short side kept >= 16


def test_hypercolumns_sample_each_level_at_its_own_resolution():
    image = torch.rand(1, 3, 8, 8)
    pooled_once = torch.rand(1, 5, 4, 4)   # a relu2_* map: one pooling below the image
    positions = torch.tensor([[0.0, 0.0], [2.0, 6.0], [7.0, 7.0], [1.0, 0.0]])
    columns = sample_hypercolumns(image, [pooled_once], ("relu2_1",), positions)
    assert columns.shape == (4, 8)
    assert torch.allclose(columns[:3, :3], image[0, :, [0, 2, 7], [0, 6, 7]].T)
    assert torch.allclose(columns[1, 3:], pooled_once[0, :, 1, 3])
    assert torch.allclose(columns[2, 3:], pooled_once[0, :, 3, 3])  # 3.5 clamped to the last row/column
    assert torch.allclose(columns[3, 3:], pooled_once[0, :, :2, 0].mean(1))  # (0.5, 0): halfway between rows


def test_output_positions_come_from_a_bounded_grid():
    generator = torch.Generator().manual_seed(0)
    grid = grid_positions(256, 256, 128 ** 2, generator)
    assert len(grid) == 128 ** 2 and grid.min() >= 0 and grid.max() <= 255
    assert len(grid_positions(64, 64, 128 ** 2, generator)) == 64 * 64


@pytest.mark.parametrize("change, option", [({"lr": 0}, "lr"), ({"layers": ("relu9_9",)}, "layers"),
                                            ({"style_draws": 0}, "style_draws")])
def test_bad_parameters_are_refused(change, option):
    with pytest.raises(ConfigError, match=option):
        StrotssConfig.from_dict(change)


def test_a_few_steps_on_two_scales(resolved_weights):
    torch.manual_seed(0)
    content = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8), size=(64, 64), mode="bilinear")
    style = torch.rand(1, 3, 48, 64)
    config = StrotssConfig(iterations_per_scale=2, first_long_side=32, style_samples=64, style_draws=2,
                           output_samples=64)
    result = strotss.stylize(content, style, config=config, device="cpu", resolved=resolved_weights, progress=False)
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    assert [row["scale"] for row in result.losses] == [0, 0, 1, 1]
    assert result.facts["scales"] == [[32, 32], [64, 64]] and result.facts["iterations_run"] == 4
    assert all(row["total"] > 0 for row in result.losses)


def test_runs_are_reproducible(resolved_weights):
    torch.manual_seed(1)
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    config = StrotssConfig(iterations_per_scale=1, first_long_side=32, style_samples=32, style_draws=1,
                           output_samples=32)
    images = [strotss.stylize(content, style, config=config, device="cpu", seed=seed, resolved=resolved_weights,
                              progress=False).image for seed in (5, 5)]
    assert torch.equal(images[0], images[1])  # positions drawn from a seeded generator
