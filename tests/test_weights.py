"""dtp_core.weights: the one safe reader of PyTorch weights files, and sha256_file."""

import hashlib
import io
import os
import pickle

import numpy as np
import pytest
import torch

from dtp_core.errors import WeightsFileError
from dtp_core.weights import NumpyOnlyUnpickler, read_state_dict, sha256_file


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/dtp_weights_pwned",))


def test_a_state_dict_is_read_as_its_tensors(tmp_path):
    torch.save({"a.weight": torch.ones(2, 3), "b.bias": torch.zeros(3), "epoch": 7}, tmp_path / "w.pth")
    state = read_state_dict(tmp_path / "w.pth", "pass the right file")
    assert sorted(state) == ["a.weight", "b.bias"] and torch.equal(state["a.weight"], torch.ones(2, 3))


def test_a_wrapper_is_opened_only_when_asked(tmp_path):
    torch.save({"state_dict": {"a.weight": torch.ones(1)}, "epoch": 3}, tmp_path / "w.pth")
    assert list(read_state_dict(tmp_path / "w.pth", "fix", inner="state_dict")) == ["a.weight"]
    assert read_state_dict(tmp_path / "w.pth", "fix") == {}


def test_unreadable_and_wrong_files_name_the_file_and_the_callers_fix(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(WeightsFileError, match=r"junk\.pth: cannot be read as PyTorch weights .*Fix: get it again"):
        read_state_dict(tmp_path / "junk.pth", "get it again")
    torch.save([torch.ones(1)], tmp_path / "list.pth")
    with pytest.raises(WeightsFileError, match=r"list\.pth: holds a list, not a state dict\. Fix: get it again"):
        read_state_dict(tmp_path / "list.pth", "get it again")


def test_code_in_a_weights_file_is_refused(tmp_path):
    torch.save({"w": _Payload()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsFileError, match=r"evil\.pth: cannot be read as PyTorch weights"):
        read_state_dict(tmp_path / "evil.pth", "fix")
    crafted = pickle.dumps({"w": _Payload()})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        NumpyOnlyUnpickler(io.BytesIO(crafted)).load()
    assert not os.path.exists("/tmp/dtp_weights_pwned")


def test_numpy_arrays_pass_the_numpy_only_unpickler(tmp_path):
    (tmp_path / "a.pkl").write_bytes(pickle.dumps({"k": np.arange(6, dtype=np.float32).reshape(2, 3)}))
    with open(tmp_path / "a.pkl", "rb") as handle:
        assert NumpyOnlyUnpickler(handle).load()["k"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_sha256_file_follows_the_contents(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"one")
    assert sha256_file(path) == hashlib.sha256(b"one").hexdigest()
    path.write_bytes(b"other")
    assert sha256_file(path) == hashlib.sha256(b"other").hexdigest()
