"""Gatys et al. 2016: configuration, a few L-BFGS evaluations at 32 px, the sidecar facts."""

import pytest
import torch

from baselines import gatys
from baselines.gatys import GatysConfig
from dtp_core.errors import ConfigError

SMALL = GatysConfig(iterations=6, lbfgs_step_iterations=4)


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    content = torch.rand(1, 3, 8, 8)
    content = torch.nn.functional.interpolate(content, size=(32, 32), mode="bilinear")  # smooth, photo-like
    style = torch.rand(1, 3, 40, 48)
    return content, style


def test_defaults_are_the_authors():
    config = GatysConfig()
    assert config.style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert config.style_weights == pytest.approx([1e3 / 64 ** 2, 1e3 / 128 ** 2, 1e3 / 256 ** 2, 1e3 / 512 ** 2, 1e3 / 512 ** 2])
    assert config.content_layers == ("relu4_2",) and config.content_weights == (1.0,)
    assert (config.iterations, config.pooling, config.init, config.backbone) == (500, "avg", "content", "vgg19")


@pytest.mark.parametrize("change, option", [({"pooling": "median"}, "pooling"), ({"iterations": 0}, "iterations"),
                                            ({"style_weights": (1.0,)}, "style_weights"),
                                            ({"content_layers": ("relu3_4",)}, "content_layers"),
                                            ({"colour": 1}, "colour")])
def test_bad_parameters_are_refused_by_name(change, option):
    with pytest.raises(ConfigError, match=option):
        GatysConfig.from_dict(change)


def test_lists_from_yaml_become_tuples():
    config = GatysConfig.from_dict({"content_layers": ["relu3_1"], "content_weights": [2.0]})
    assert config.content_layers == ("relu3_1",) and config.non_defaults() == {"content_layers": ("relu3_1",),
                                                                               "content_weights": (2.0,)}


def test_a_few_evaluations_lower_the_loss_and_are_recorded(pair, resolved_weights):
    content, style = pair
    result = gatys.stylize(content, style, config=SMALL, device="cpu", resolved=resolved_weights, progress=False)
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    assert [row["iteration"] for row in result.losses] == list(range(6))  # exactly `iterations` evaluations
    assert result.losses[0]["content"] == 0  # started from the content
    assert result.losses[-1]["total"] < result.losses[0]["total"]
    assert not torch.allclose(result.image, content, atol=1e-3)  # the style moved it
    facts = result.facts
    assert facts["method"] == "gatys" and facts["iterations_run"] == 6 and facts["seed"] == SMALL.seed
    assert facts["weights_sha256"] == resolved_weights.sha256 and facts["backbone"] == resolved_weights.backbone
    assert facts["backbone_note"] == resolved_weights.note  # the VGG-16 stand-in says so here
    for key in ("seconds", "peak_rss_mib", "versions", "parameters", "device"):
        assert key in facts


def test_runs_are_deterministic_and_the_noise_start_is_seeded(pair, resolved_weights):
    content, style = pair
    config = SMALL.replace(iterations=1, init="noise")
    runs = [gatys.stylize(content, style, config=config, device="cpu", seed=seed, resolved=resolved_weights,
                          progress=False).image for seed in (1, 1, 2)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_images_loaded_from_files_work(resolved_weights):
    # `dtp_core.images.to_tensor` returns a permuted (non-contiguous) view of the HWC array.
    array = (torch.rand(24, 20, 3) * 255).byte().numpy()
    from dtp_core.images import to_tensor
    content = to_tensor(array)
    assert not content.is_contiguous()
    result = gatys.stylize(content, content, config=SMALL.replace(iterations=1), device="cpu",
                           resolved=resolved_weights, progress=False)
    assert result.image.shape == content.shape


def test_cuda_matches_the_call_shape(pair, resolved_weights):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    content, style = pair
    result = gatys.stylize(content, style, config=SMALL, device="cuda", resolved=resolved_weights, progress=False)
    assert result.image.device.type == "cpu" and "peak_gpu_mib" in result.facts
