"""Weights files, read without running their code, and the sha256 every run records of its files.

- `sha256_file`: a file's sha256 (cached while its size and mtime stay the same).
- `read_state_dict`: a PyTorch file, through ``torch.load(weights_only=True)`` only, as a flat
  name -> tensor dict; any failure is one `WeightsFileError` naming the file and the caller's fix.
- `NumpyOnlyUnpickler`: a pickle unpickler that admits numpy arrays and dtypes and nothing else.

Which weights a method uses, and what it does with them, stays with the method
(`dtp_core.backbone` for VGG, `baselines.checkpoints` for the released checkpoints).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from .errors import WeightsFileError


@functools.lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    stat = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def read_state_dict(path: str | os.PathLike, fix: str, *, inner: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a PyTorch file, read with ``weights_only=True`` (nothing in it runs).

    `fix` is the "Fix:" part of the `WeightsFileError` raised when the file cannot be read (refused
    by the safe unpickler, corrupt, not a torch file) or holds no dict. With `inner`, a file whose
    dict holds a dict under that key (e.g. ``{"state_dict": {...}, "epoch": 3}``) is read from there.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # refused by the safe unpickler, a corrupt zip, not a torch file
        first = str(err).splitlines()[0][:200] if str(err) else ""
        raise WeightsFileError(path, f"cannot be read as PyTorch weights ({type(err).__name__}: {first})",
                               fix) from None
    if inner is not None and isinstance(state, dict) and isinstance(state.get(inner), dict):
        state = state[inner]
    if not isinstance(state, dict):
        raise WeightsFileError(path, f"holds a {type(state).__name__}, not a state dict", fix)
    return {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays and dtypes and nothing else: a crafted pickle cannot run code."""

    def find_class(self, module, name):
        allowed = {
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct(),
            ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct(),
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed in a weights file")


def _np_reconstruct():
    core = getattr(np, "_core", None) or np.core
    return core.multiarray._reconstruct
