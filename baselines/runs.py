"""The start and the record of one baseline run: inputs checked, device and seed set, and the
sidecar facts written in the same form as DTP's (`dtp_core.trainer.stylize`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm import tqdm

from dtp_core.backbone import ResolvedWeights
from dtp_core.config import DTPConfig
from dtp_core.devices import seed_everything, select_device, set_deterministic
from dtp_core.method import check_pair
from dtp_core.records import Meter, sidecar_facts

DEFAULT_SEED = DTPConfig.seed  # one seed for every method unless the config says otherwise

# What a method that reads no VGG weights records in the backbone fields.
NO_BACKBONE = {"backbone": None, "weights_file": None, "weights_sha256": None, "weights_source": None,
               "backbone_note": ""}


def start(content: torch.Tensor, style: torch.Tensor, config, device, seed: int | None) -> tuple[torch.device, int]:
    """Check the pair, choose the device, seed every generator. Returns (device, seed)."""
    check_pair(content, style)
    device = select_device(device)
    seed = getattr(config, "seed", DEFAULT_SEED) if seed is None else seed
    seed_everything(seed)
    set_deterministic(getattr(config, "deterministic", False))
    return device, seed


def progress_bar(total: int, progress: bool | None, desc: str) -> tqdm:
    """`progress`: None shows a bar only on a terminal (as DTP's CLI does)."""
    return tqdm(total=total, disable=None if progress is None else not progress, desc=desc, unit="it",
                dynamic_ncols=True)


def facts(method: str, config, *, seed: int, content: torch.Tensor, style: torch.Tensor, meter: Meter,
          device: torch.device, resolved: ResolvedWeights | None = None, iterations: int | None = None,
          **extra) -> dict:
    """The sidecar facts of one run (`dtp_core.records.sidecar_facts`, as DTP's), plus the style's
    shape (a baseline may take a style of another size), its backbone or `NO_BACKBONE`, and `extra`."""
    return sidecar_facts(method, config, seed=seed, input_shape=content.shape,
                         backbone=resolved.record() if resolved is not None else NO_BACKBONE, meter=meter,
                         device=device, iterations=iterations, style_shape=list(style.shape), **extra)


def loss_rows(names: tuple[str, ...], history: list[torch.Tensor], **columns: list) -> list[dict]:
    """One dict per iteration from stacked loss terms (kept on the device until the end: no host sync)."""
    if not history:
        return []
    values = torch.stack(history).tolist()
    extra = [dict(zip(columns, row)) for row in zip(*columns.values())] if columns else [{}] * len(values)
    return [dict(iteration=i, **more, **dict(zip(names, row))) for i, (row, more) in enumerate(zip(values, extra))]


def to_rgb(image: torch.Tensor, size: tuple[int, int] | torch.Size | None = None) -> torch.Tensor:
    """A method's output as the call shape returns it: float, clipped to [0, 1], on the CPU; with
    `size` (H, W, e.g. the content's), first resized to it (bilinear) where it differs."""
    if size is not None and tuple(image.shape[-2:]) != tuple(size):
        image = F.interpolate(image, size=tuple(size), mode="bilinear", align_corners=False)
    return image.detach().float().clamp(0, 1).cpu()
