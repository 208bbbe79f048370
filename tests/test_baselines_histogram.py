"""Histogram matching: each output channel has the style's distribution."""

import numpy as np
import torch

from baselines import histogram
from dtp_core.images import to_tensor


def _cdf(channel):
    return np.cumsum(np.bincount(channel.ravel(), minlength=256)) / channel.size


def test_each_channel_takes_the_styles_histogram():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    style = (rng.beta(2, 5, size=(48, 80, 3)) * 255).astype(np.uint8)  # another shape, another distribution
    result = histogram.stylize(to_tensor(content), to_tensor(style))
    out = np.round(result.image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    for c in range(3):
        before = np.abs(_cdf(content[..., c]) - _cdf(style[..., c])).max()
        after = np.abs(_cdf(out[..., c]) - _cdf(style[..., c])).max()  # Kolmogorov-Smirnov distance
        assert after < 0.02 < before
    # The order of the content's values is kept: matching is a monotone remapping per channel.
    order = np.argsort(content[..., 0].ravel(), kind="stable")
    assert (np.diff(out[..., 0].ravel()[order].astype(int)) >= 0).all()


def test_matching_an_image_to_itself_changes_nothing():
    image = torch.rand(1, 3, 20, 24)
    result = histogram.stylize(image, image)
    assert torch.allclose(result.image, image, atol=1 / 255)
    assert result.facts["method"] == "histogram" and result.facts["seconds"] >= 0
