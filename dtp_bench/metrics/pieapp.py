"""PieAPP between a stylised output and its content (the paper's "PE"; lower is better).

`piq.PieAPP` downloads its weights inside its constructor (through `torch.hub`), which must never
happen here: `load_pieapp` reads the file itself — an explicit path, else torch's hub cache
(`$TORCH_HOME/hub/checkpoints/PieAPPv0.1.pth`, where piq's download would put it) — and raises
`MethodUnavailable` when neither exists, so the table says "unavailable" with the reason instead of
a number. The scoring itself is piq's (`forward`, `get_features`), unchanged.

Reference: Prashnani, Cai, Mostofi, Sen (2018), PieAPP: Perceptual Image-Error Assessment through
Pairwise Preference, CVPR.
"""

from __future__ import annotations

import os
from pathlib import Path

import piq
import torch
from piq.pieapp import PieAPPModel
from torch.nn.modules.loss import _Loss

from dtp_core.backbone import hub_checkpoint_path
from dtp_core.errors import MethodUnavailable
from dtp_core.weights import sha256_file

from .inputs import check_images

FILENAME = "PieAPPv0.1.pth"
URL = piq.PieAPP._weights_url  # piq's release asset, the file its constructor would fetch


def weights_path(explicit: str | os.PathLike | None = None) -> Path:
    """The PieAPP weights file to use, or `MethodUnavailable` naming where to put it."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise MethodUnavailable(f"{FILENAME} (PieAPP weights) at {path}", URL,
                                    "the configured metrics.pieapp.weights file does not exist")
        return path
    cached = hub_checkpoint_path(FILENAME)
    if cached.is_file():
        return cached
    raise MethodUnavailable(f"{FILENAME} (PieAPP weights)", URL,
                            f"download it on a connected machine and copy it to {cached}, "
                            "or set metrics.pieapp.weights to its path")


class OfflinePieAPP(piq.PieAPP):
    """`piq.PieAPP` built from a local weights file: its constructor minus the download."""

    def __init__(self, path: str | os.PathLike, stride: int = 27, data_range: float = 1.0):
        _Loss.__init__(self)
        weights = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(weights, dict):
            raise ValueError(f"{path}: not a PieAPP state dict (got {type(weights).__name__})")
        weights = dict(weights)
        # piq fixes the same shape bug in the released file (a 1-D weight for a 1x1 Linear).
        if weights.get("ref_score_subtract.weight") is not None and weights["ref_score_subtract.weight"].dim() == 1:
            weights["ref_score_subtract.weight"] = weights["ref_score_subtract.weight"].unsqueeze(1)
        self.model = PieAPPModel()
        self.model.load_state_dict(weights)
        for param in self.model.parameters():
            param.requires_grad_(False)
        # The attributes piq's own __init__ sets, which its forward reads.
        self.data_range, self.reduction, self.stride, self.enable_grad = data_range, "none", stride, False


def load_pieapp(weights: str | os.PathLike | None = None, stride: int = 27) -> tuple[OfflinePieAPP, dict]:
    """The PieAPP scorer and a record of its weights (path, sha256); `MethodUnavailable` without them."""
    path = weights_path(weights)
    return OfflinePieAPP(path, stride=stride), {"pieapp_weights": str(path), "pieapp_sha256": sha256_file(path),
                                                "pieapp_stride": stride}


def pieapp(x: torch.Tensor, y: torch.Tensor, model: OfflinePieAPP) -> torch.Tensor:
    """PieAPP of `x` against reference `y`, per image (N,). Inputs (N, 3, H, W) in [0, 1], H, W >= 64."""
    check_images(x, y)
    if min(x.shape[-2:]) < 64:
        raise ValueError(f"PieAPP compares 64x64 patches; the images are {x.shape[-1]}x{x.shape[-2]}")
    with torch.no_grad():
        return model(x, y).reshape(-1)
