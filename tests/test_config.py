import pytest

from dtp_core.config import PRESETS, DTPConfig, preset
from dtp_core.errors import ConfigError


def test_defaults_are_the_authors_code():
    cfg = DTPConfig()
    assert (cfg.size, cfg.iterations, cfg.seed) == (256, 1000, 1006)
    assert cfg.lambda_c == pytest.approx(1 / 5) and cfg.lambda_w == pytest.approx(1 / 9) and cfg.lambda_cyc == 1
    assert (cfg.tau_corr, cfg.tau_nce, cfg.fma_weight, cfg.num_patches) == (0.01, 0.07, 0.6, 2048)
    assert cfg.content_weights == pytest.approx((1 / 32, 1 / 16, 1 / 8))
    assert cfg.style_weights == pytest.approx((1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4))
    assert (cfg.lr, cfg.betas, cfg.snapshots) == (1e-4, (0.5, 0.999), (0, 499, 999))
    assert (cfg.center, cfg.style_distance, cfg.decoder_padding, cfg.corr_size) == ("vector", "cosine", "zeros", 64)


def test_presets_change_exactly_what_they_name():
    assert set(PRESETS) == {"dtp_lc1_5", "dtp_lc4_5", "dtp_no_warped_feature", "dtp_no_warped_image", "dtp_no_cycle",
                            "dtp_no_fma", "dtp_no_generation"}
    assert preset("dtp_lc1_5") == DTPConfig()
    assert preset("dtp_lc4_5").non_defaults() == {"lambda_c": pytest.approx(0.8)}
    assert preset("dtp_no_cycle").non_defaults() == {"lambda_cyc": 0.0}
    assert preset("dtp_no_fma").non_defaults() == {"use_fma": False}
    assert preset("dtp_no_generation").non_defaults() == {"use_decoder": False}
    assert preset("dtp_no_warped_feature").non_defaults() == {"use_warped_feature": False}
    assert preset("dtp_no_warped_image").non_defaults() == {"use_warped_image": False}


@pytest.mark.parametrize("changes, option", [
    ({"lambda_c": -0.1}, "lambda_c"), ({"size": 4}, "size"), ({"iterations": 2.5}, "iterations"),
    ({"center": "mean"}, "center"), ({"betas": (0.5,)}, "betas"), ({"style_kernels": (3, 3, 3, 3, 5)}, "style_kernels"),
    ({"use_decoder": False, "use_warped_image": False}, "use_decoder"), ({"backbone": "resnet"}, "backbone"),
])
def test_bad_values_name_the_option(changes, option):
    with pytest.raises(ConfigError) as err:
        DTPConfig(**changes)
    assert err.value.option == option


def test_from_dict_accepts_lists_and_refuses_unknown_keys():
    assert DTPConfig.from_dict({"betas": [0.9, 0.99]}).betas == (0.9, 0.99)
    with pytest.raises(ConfigError, match="not a DTP parameter"):
        DTPConfig.from_dict({"lamda_c": 0.3})
    with pytest.raises(ConfigError):
        preset("dtp_turbo")
