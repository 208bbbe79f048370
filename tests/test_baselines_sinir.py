"""SinIR: the network's layout, SSIM + MSE loss, pixel shuffling, the two-scale cascade."""

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from baselines import sinir
from baselines.sinir import SinIRConfig, cascade, resize_long_side, train
from baselines.sinir_network import SinIRNet, reconstruction_terms, shuffle_pixels, ssim_per_channel
from dtp_core.errors import ConfigError


def test_defaults_are_the_photo_setting():
    config = SinIRConfig()
    assert (config.scales, config.iterations_per_scale, config.lr, config.betas) == (2, 500, 1e-4, (0.5, 0.999))
    assert (config.channels, config.blocks, config.pixel_shuffle_p, config.style_long_side) == (128, 6, 0.005, 250)


def test_network_has_the_authors_layout():
    net = SinIRNet()
    shapes = {name: tuple(p.shape) for name, p in net.state_dict().items()}
    expected = {"from_rgb.0.weight": (64, 3, 1, 1), "from_rgb.0.bias": (64,), "from_rgb.1.weight": (128, 64, 1, 1),
                "from_rgb.1.bias": (128,), "to_rgb.0.weight": (64, 128, 1, 1), "to_rgb.0.bias": (64,),
                "to_rgb.1.weight": (3, 64, 1, 1), "to_rgb.1.bias": (3,)}
    for block in range(6):
        expected[f"layers.{block}.layer.1.weight"] = (128, 128, 3, 3)
        expected[f"layers.{block}.layer.1.bias"] = (128,)
    assert shapes == expected
    out = SinIRNet(channels=16)(torch.rand(1, 3, 21, 17) * 2 - 1)
    assert out.shape == (1, 3, 21, 17) and out.abs().max() < 1  # tanh, any size


def test_ssim_matches_scikit_image():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 40, 36)
    y = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    mine = ssim_per_channel(x, y).mean().item()
    reference = structural_similarity(x[0].permute(1, 2, 0).numpy(), y[0].permute(1, 2, 0).numpy(), channel_axis=2,
                                      data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert mine == pytest.approx(reference, abs=1e-4)
    assert ssim_per_channel(x, x).mean().item() == pytest.approx(1.0, abs=1e-5)


def test_reconstruction_loss_is_zero_only_for_the_target():
    target = torch.rand(1, 3, 24, 24) * 2 - 1
    ssim_term, mse_term = reconstruction_terms(target, target)
    assert ssim_term.item() == pytest.approx(0.0, abs=1e-5) and mse_term.item() == 0
    ssim_term, mse_term = reconstruction_terms(-target, target)
    assert 0 < ssim_term <= 1 and mse_term > 0  # SSIM per channel clamped at 0: the term is at most 1


def test_pixel_shuffle_moves_whole_pixels():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 30, 30)
    assert torch.equal(shuffle_pixels(x, 0.0, generator), x)
    moved = shuffle_pixels(x, 1.0, generator)
    pixels = lambda t: sorted(map(tuple, t[0].flatten(1).T.tolist()))
    assert pixels(moved) == pixels(x) and not torch.equal(moved, x)  # a permutation of RGB triplets
    changed = (shuffle_pixels(x, 0.05, generator) != x).any(dim=1).float().mean().item()
    assert 0.01 < changed < 0.1


def test_style_is_resized_like_the_authors_loader():
    image = torch.rand(1, 3, 200, 300) * 2 - 1
    assert resize_long_side(image, 250).shape[-2:] == (166, 250)
    assert resize_long_side(image, None) is image


def test_two_scales_train_the_last_network_only():
    torch.manual_seed(0)
    target = torch.rand(1, 3, 24, 24) * 2 - 1
    config = SinIRConfig(iterations_per_scale=3, channels=8, blocks=2)
    history, scales = [], []
    nets = train(target, config, torch.Generator().manual_seed(0), False, history, scales)
    assert len(nets) == 2 and scales == [0, 0, 0, 1, 1, 1] and len(history) == 6
    assert not any(p.requires_grad for p in nets[0].parameters())
    assert all(p.requires_grad for p in nets[1].parameters())
    with torch.no_grad():
        assert torch.equal(cascade(nets, target), nets[1](nets[0](target)))  # inference: no shuffling


def test_stylize_maps_a_content_of_another_size():
    torch.manual_seed(0)
    content, style = torch.rand(1, 3, 20, 28), torch.rand(1, 3, 32, 32)
    config = SinIRConfig(iterations_per_scale=4, channels=16, style_long_side=None)
    result = sinir.stylize(content, style, config=config, device="cpu", progress=False)
    again = sinir.stylize(content, style, config=config, device="cpu", progress=False)
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    assert torch.equal(result.image, again.image)
    assert len(result.losses) == 8 and result.losses[3]["total"] < result.losses[0]["total"]
    facts = result.facts
    assert facts["method"] == "sinir" and facts["training_shape"] == [1, 3, 32, 32] and facts["backbone"] is None


@pytest.mark.parametrize("change, option", [({"channels": 7}, "channels"), ({"pixel_shuffle_p": 2}, "pixel_shuffle_p"),
                                            ({"style_long_side": 4}, "style_long_side")])
def test_bad_parameters_are_refused(change, option):
    with pytest.raises(ConfigError, match=option):
        SinIRConfig.from_dict(change)
