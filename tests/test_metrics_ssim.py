"""SSIM: known cases, and the piq number against skimage's when both are configured alike."""

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import structural_similarity

from dtp_core.images import resize, to_tensor
from dtp_bench.metrics.ssim import SSIMConvention, skimage_kwargs, ssim, to_luma


@pytest.fixture(scope="module")
def photo():
    return resize(data.astronaut(), (96, 96)).astype(np.float64) / 255


def _t(array):
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None]


def test_identical_images_score_one(photo):
    x = _t(photo).float()
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim(x, x, SSIMConvention(colour="luma"))) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("colour", ["rgb", "luma"])
@pytest.mark.parametrize("distortion", ["noise", "blur", "gamma"])
def test_agrees_with_skimage(photo, colour, distortion):
    rng = np.random.default_rng(0)
    if distortion == "noise":
        other = np.clip(photo + rng.normal(0, 0.1, photo.shape), 0, 1)
    elif distortion == "blur":
        from scipy.ndimage import gaussian_filter
        other = gaussian_filter(photo, sigma=(2, 2, 0))
    else:
        other = photo ** 1.8
    convention = SSIMConvention(colour=colour)
    ours = float(ssim(_t(other), _t(photo), convention))
    if colour == "luma":
        a, b = to_luma(_t(other))[0, 0].numpy(), to_luma(_t(photo))[0, 0].numpy()
    else:
        a, b = other, photo
    reference = structural_similarity(a, b, **skimage_kwargs(convention))
    assert ours == pytest.approx(reference, abs=1e-6)
    assert 0 < ours < 1


def test_float32_inputs_give_the_float64_number(photo):
    other = np.clip(photo * 0.7 + 0.1, 0, 1)
    assert float(ssim(_t(other).float(), _t(photo).float())) == pytest.approx(
        float(ssim(_t(other), _t(photo))), abs=1e-6)


def test_batch_gives_one_score_per_image(photo):
    x = to_tensor((photo * 255).astype(np.uint8)).repeat(3, 1, 1, 1)
    y = x.clone()
    y[1] = y[1] * 0.5
    scores = ssim(x, y)
    assert scores.shape == (3,)
    assert scores[0] == pytest.approx(1.0) and scores[1] < 1


def test_downsampling_changes_large_images_only():
    big = to_tensor(resize(data.coffee(), (384, 384)))  # round(384 / 256) = 2: pooled by 2
    other = big.flip(-1)
    assert float(ssim(big, other, SSIMConvention(downsample=True))) != pytest.approx(
        float(ssim(big, other, SSIMConvention(downsample=False))), abs=1e-4)
    small = big[..., :256, :256]
    assert float(ssim(small, small.flip(-1), SSIMConvention(downsample=True))) == pytest.approx(
        float(ssim(small, small.flip(-1), SSIMConvention(downsample=False))), abs=1e-12)


def test_convention_is_validated_and_described():
    with pytest.raises(ValueError, match="kernel_size"):
        SSIMConvention(kernel_size=8)
    with pytest.raises(ValueError, match="colour"):
        SSIMConvention(colour="hsv")
    with pytest.raises(ValueError, match="window"):
        SSIMConvention.from_dict({"window": 7})
    text = SSIMConvention().describe()
    for word in ("11x11", "sigma 1.5", "per RGB channel", "data range 1.0"):
        assert word in text
    with pytest.raises(ValueError, match="no skimage configuration"):
        skimage_kwargs(SSIMConvention(kernel_size=7))


def test_inputs_are_checked():
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ssim(x * 2, x)
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, torch.rand(1, 3, 32, 16))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        ssim(x[:, :1], x[:, :1])
    with pytest.raises(TypeError, match="float"):
        ssim((x * 255).byte(), (x * 255).byte())
