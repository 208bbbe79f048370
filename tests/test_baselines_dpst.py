"""DPST as a precomputed method: a lookup of the authors' output, resized like every output."""

import numpy as np
import pytest
import torch
from PIL import Image

from baselines import dpst
from baselines.dpst import DPSTConfig, output_name, output_url
from dtp_core.errors import MethodUnavailable
from dtp_core.images import load_image, resize, to_tensor
from dtp_core.weights import sha256_file

from conftest import shared


def test_names_and_upstream_location():
    assert output_name(12) == "best12_t_1000.png"
    assert output_url(3).endswith("/4801fa2dca2e2b52847c377f451246a39eae154a/examples/final_results/best3_t_1000.png")
    with pytest.raises(ValueError):
        output_name(61)


def test_the_lookup_is_resized_to_the_contents_shape(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, size=(44, 70, 3), dtype=np.uint8)
    path = tmp_path / "best7_t_1000.png"
    Image.fromarray(array).save(path)
    content = torch.rand(1, 3, 32, 32)
    result = dpst.stylize(content, content, config=DPSTConfig(file=str(path)))
    assert torch.equal(result.image, to_tensor(resize(array, (32, 32))))
    facts = result.facts
    assert facts["precomputed_sha256"] == sha256_file(path) and facts["precomputed_shape"] == [44, 70]
    assert facts["method"] == "dpst" and facts["parameters"] == {"file": str(path)}


def test_a_missing_output_is_unavailable_not_a_crash(tmp_path):
    content = torch.rand(1, 3, 32, 32)
    with pytest.raises(MethodUnavailable, match=r"^unavailable: needs best9_t_1000.png from https://github.com/luanfujun"):
        dpst.stylize(content, content, config=DPSTConfig(file=str(tmp_path / "best9_t_1000.png")))
    with pytest.raises(MethodUnavailable, match="output for this pair"):  # a pair DPST has no output for
        dpst.stylize(content, content, config=DPSTConfig())


def test_the_mirrored_output_of_pair_1():
    path = shared("dpst/final_results/best1_t_1000.png")
    content = torch.rand(1, 3, 64, 64)
    result = dpst.stylize(content, content, config=DPSTConfig(file=str(path)))
    assert result.image.shape == (1, 3, 64, 64)
    assert torch.equal(result.image, to_tensor(resize(load_image(path), (64, 64))))
