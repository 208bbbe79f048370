"""PieAPP: never downloads; absent weights -> `unavailable` with the reason; present weights -> piq's number."""

import os

import piq
import pytest
import torch
from piq.pieapp import PieAPPModel

from dtp_core.errors import MethodUnavailable
from dtp_bench.metrics import pieapp as pieapp_module
from dtp_bench.metrics.pieapp import FILENAME, URL, load_pieapp, pieapp, weights_path
from dtp_bench.metrics.scorer import Scorer


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any download attempt fails the test; torch's hub cache is an empty temporary folder."""
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield
    torch.hub.set_dir(old)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A file shaped like piq's released PieAPPv0.1.pth (random values, its 1-D ref_score_subtract bug)."""
    torch.manual_seed(0)
    state = PieAPPModel().state_dict()
    state["ref_score_subtract.weight"] = state["ref_score_subtract.weight"].reshape(1)
    path = tmp_path_factory.mktemp("pieapp") / FILENAME
    torch.save(state, path)
    return path, state


def test_piq_expects_the_file_under_this_name():
    assert os.path.basename(URL) == FILENAME
    assert URL == piq.PieAPP._weights_url


def test_absent_weights_are_unavailable_with_the_reason(tmp_path):
    with pytest.raises(MethodUnavailable, match=r"unavailable: needs PieAPPv0\.1\.pth .* from https://") as err:
        weights_path()
    assert str(tmp_path / "hub" / "checkpoints" / FILENAME) in str(err.value)
    with pytest.raises(MethodUnavailable, match="does not exist"):
        weights_path(tmp_path / "nowhere.pth")


def test_scorer_without_weights_reports_unavailable_not_a_number():
    scorer = Scorer({"enabled": ["ssim", "pieapp"]})
    x = torch.rand(1, 3, 64, 64)
    scores = scorer.score(x, x, x)
    assert scores["pieapp"]["status"] == "unavailable"
    assert "value" not in scores["pieapp"]
    assert scores["pieapp"]["reason"].startswith("unavailable: needs PieAPPv0.1.pth")
    assert scores["ssim"]["status"] == "ok"
    assert "pieapp" in scorer.describe()["unavailable"]


def test_hub_cache_file_is_found(tmp_path, random_weights):
    cached = tmp_path / "hub" / "checkpoints" / FILENAME
    cached.parent.mkdir(parents=True)
    os.symlink(random_weights[0], cached)
    assert weights_path() == cached


def test_loaded_model_gives_piqs_own_number(monkeypatch, random_weights):
    path, state = random_weights
    ours, record = load_pieapp(path)
    assert record["pieapp_weights"] == str(path) and len(record["pieapp_sha256"]) == 64
    # piq's own class, its download replaced by the same file: the two must agree exactly.
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: {k: v.clone() for k, v in state.items()})
    reference = piq.PieAPP(reduction="none")
    torch.manual_seed(1)
    x, y = torch.rand(2, 3, 96, 96), torch.rand(2, 3, 96, 96)
    expected = reference(x, y)
    got = pieapp(x, y, ours)
    assert got.shape == (2,)
    assert torch.allclose(got, expected, atol=1e-6)


def test_small_images_are_refused(random_weights):
    model, _ = load_pieapp(random_weights[0])
    with pytest.raises(ValueError, match="64x64"):
        pieapp(torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48), model)


def test_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / FILENAME
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match="not a PieAPP state dict"):
        pieapp_module.OfflinePieAPP(path)
