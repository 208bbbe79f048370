"""Reinhard colour transfer: the colour spaces, and the output carrying the style's statistics."""

import numpy as np
import pytest
import torch
from skimage import color

from baselines import reinhard
from baselines.reinhard import (ReinhardConfig, lalphabeta_to_rgb, match_mean_std, reinhard_transfer,
                                rgb_to_lalphabeta)
from dtp_core.errors import ConfigError


def _smooth(seed, low, high, shape=(24, 24)):
    rng = np.random.default_rng(seed)
    base = rng.uniform(low, high, size=(4, 4, 3))
    return np.kron(base, np.ones((shape[0] // 4, shape[1] // 4, 1)))


def test_lalphabeta_round_trip():
    rgb = np.random.default_rng(0).uniform(0.05, 1.0, size=(100, 3))
    assert np.allclose(lalphabeta_to_rgb(rgb_to_lalphabeta(rgb)), rgb, atol=1e-9)
    grey = rgb_to_lalphabeta(np.full((1, 3), 0.5))
    assert np.allclose(grey[0, 1:], 0, atol=2e-3)  # the opponent axes are (nearly) zero on grey


def test_match_mean_std():
    rng = np.random.default_rng(1)
    source, target = rng.normal(3, 2, size=(50, 40, 3)), rng.normal(-1, 0.5, size=(30, 30, 3))
    out = match_mean_std(source, target)
    assert np.allclose(out.mean(axis=(0, 1)), target.mean(axis=(0, 1)))
    assert np.allclose(out.std(axis=(0, 1)), target.std(axis=(0, 1)))
    flat = match_mean_std(np.ones((4, 4, 3)), target)  # a constant channel takes the target's mean, no NaN
    assert np.allclose(flat, target.mean(axis=(0, 1)))


@pytest.mark.parametrize("space, to_space", [("lalphabeta", rgb_to_lalphabeta), ("cielab", color.rgb2lab)])
def test_the_output_has_the_styles_statistics(space, to_space):
    content, style = _smooth(2, 0.3, 0.7), _smooth(3, 0.35, 0.6, (32, 32))  # in gamut: nothing clipped
    out = reinhard_transfer(content, style, space)
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(to_space(out).mean(axis=(0, 1)), to_space(style).mean(axis=(0, 1)), atol=1e-3)
    assert np.allclose(to_space(out).std(axis=(0, 1)), to_space(style).std(axis=(0, 1)), atol=1e-3)


def test_stylize_returns_an_image_and_records_it():
    content = torch.from_numpy(_smooth(4, 0.2, 0.8)).permute(2, 0, 1)[None].float()
    style = torch.from_numpy(_smooth(5, 0.4, 0.6, (16, 20))).permute(2, 0, 1)[None].float()
    result = reinhard.stylize(content, style, config=ReinhardConfig())
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    out_stats = rgb_to_lalphabeta(result.image[0].permute(1, 2, 0).double().numpy()).mean(axis=(0, 1))
    style_stats = rgb_to_lalphabeta(style[0].permute(1, 2, 0).double().numpy()).mean(axis=(0, 1))
    assert np.allclose(out_stats, style_stats, atol=0.01)  # 8-bit rounding of the inputs only
    assert result.facts["method"] == "reinhard" and result.facts["parameters"] == {"space": "lalphabeta"}
    with pytest.raises(ConfigError, match="space"):
        ReinhardConfig(space="hsv")
