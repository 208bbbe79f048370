"""The baselines' shared config mixin and their entries in the method registry."""

import pytest

from baselines.config import BaselineConfig
from baselines.gatys import GatysConfig
from dtp_bench import methods
from dtp_core.errors import ConfigError

MINE = {"gatys": "baseline", "strotss": "baseline", "sinir": "baseline", "identity": "reference",
        "reinhard": "reference", "histogram": "reference", "warped_style": "reference", "dpst": "precomputed"}


def test_registered_under_the_names_the_config_uses():
    for name, kind in MINE.items():
        spec = methods.get(name)
        assert spec.kind == kind and spec.name == name
        config = spec.make_config({})
        assert isinstance(config, BaselineConfig) and config.non_defaults() == {}
    assert {methods.get(n).paper_row for n in ("gatys", "strotss", "sinir")} == {"Gatys et al.", "STROTSS", "SinIR"}
    assert all(methods.get(n).needs_gpu for n in ("gatys", "strotss", "sinir"))
    assert not any(methods.get(n).needs_gpu for n in ("identity", "reinhard", "histogram", "dpst"))


def test_from_dict_refuses_unknown_parameters_and_records_changes():
    with pytest.raises(ConfigError, match="iteration"):
        methods.get("gatys").make_config({"iteration": 5})
    config = methods.get("sinir").make_config({"betas": [0.9, 0.99]})
    assert config.betas == (0.9, 0.99) and config.non_defaults() == {"betas": (0.9, 0.99)}
    assert config.to_dict()["betas"] == (0.9, 0.99)
    assert GatysConfig().replace(iterations=3).iterations == 3
