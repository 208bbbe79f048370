"""Style-side metrics (Gram/covariance on VGG-16, Lab histogram) and LPIPS against the content."""

import numpy as np
import pytest
import torch
from skimage import data

from dtp_core.backbone import BACKBONES
from dtp_core.images import resize, to_tensor
from dtp_bench.metrics.gram import feature_statistics, relative_distance, style_distance
from dtp_bench.metrics.histogram import chi_square, histogram_distance
from dtp_bench.metrics.lpips_content import LPIPS_SLICES, lpips_distance, lpips_key, load_lpips
from dtp_bench.metrics.vgg import vgg16_encoder, vgg16_weights

SIZE = 64


@pytest.fixture(scope="module")
def images():
    return {name: to_tensor(resize(getattr(data, name)(), (SIZE, SIZE))) for name in ("astronaut", "coffee", "chelsea")}


@pytest.fixture(scope="module")
def encoder():
    return vgg16_encoder()


def test_gram_statistics_by_hand():
    features = torch.arange(12, dtype=torch.float64).reshape(1, 2, 2, 3)
    flat = features.reshape(2, 6)
    assert torch.allclose(feature_statistics(features, "gram")[0], flat @ flat.T / 6)
    centred = flat - flat.mean(1, keepdim=True)
    assert torch.allclose(feature_statistics(features, "covariance")[0], centred @ centred.T / 6)
    with pytest.raises(ValueError, match="gram"):
        feature_statistics(features, "wasserstein")
    a = torch.eye(2)[None]
    assert float(relative_distance(2 * a, a)) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["gram", "covariance"])
def test_style_distance_known_cases(images, encoder, kind):
    style = images["coffee"]
    assert float(style_distance(style, style, encoder, kind)) == pytest.approx(0.0, abs=1e-6)
    # the statistics ignore positions, so the style mirrored is closer than another photo
    # (not 0: VGG's filters are not mirror-symmetric)
    mirrored = float(style_distance(style.flip(-1), style, encoder, kind))
    other = float(style_distance(images["astronaut"], style, encoder, kind))
    assert 0 < mirrored < other and other > 0.5


def test_histogram_known_cases(images):
    style = images["coffee"]
    assert float(histogram_distance(style, style)) == pytest.approx(0.0, abs=1e-12)
    assert float(histogram_distance(style.flip(-1), style)) == pytest.approx(0.0, abs=1e-12)
    red, green = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)
    red[:, 0], green[:, 1] = 1, 1
    # Lab (53, 80, 67) against (88, -86, 83): disjoint bins in every channel
    assert float(histogram_distance(red, green)) == pytest.approx(1.0, abs=1e-12)
    between = float(histogram_distance(images["astronaut"], style))
    assert 0 < between < 1
    with pytest.raises(ValueError, match="bins"):
        histogram_distance(style, style, bins=1)


def test_chi_square_by_hand():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    assert chi_square(p, q) == pytest.approx(0.5 * (0.25 / 0.5 + 0 + 0.25 / 0.5))
    assert chi_square(p, p) == 0


def test_lpips_key_mapping_covers_vgg16_to_relu5_3():
    assert lpips_key("features.0.weight") == "net.slice1.0.weight"
    assert lpips_key("features.17.bias") == "net.slice4.17.bias"
    assert lpips_key("features.28.weight") == "net.slice5.28.weight"
    with pytest.raises(ValueError, match="past relu5_3"):
        lpips_key("features.30.weight")
    # the slice ends are the VGG-16 taps (relu1_2 ... relu5_3) that dtp_core uses too
    assert tuple(stop - 1 for _, stop in LPIPS_SLICES) == BACKBONES["vgg16"].taps


def test_lpips_uses_our_vgg16_weights_and_known_cases(images, encoder):
    model = load_lpips(vgg16_weights())
    # its trunk holds exactly the weights the Gram metric's encoder holds
    for index in (0, 14, 28):
        k = next(i for i, (a, b) in enumerate(LPIPS_SLICES, 1) if a <= index < b)
        assert torch.equal(getattr(getattr(model.net, f"slice{k}"), str(index)).weight, encoder.features[index].weight)
    content = images["chelsea"]
    assert float(lpips_distance(content, content, model)) == pytest.approx(0.0, abs=1e-6)
    slight = float(lpips_distance((content * 0.9 + 0.05), content, model))
    far = float(lpips_distance(images["coffee"], content, model))
    assert 0 < slight < far
