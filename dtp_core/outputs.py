"""Writing a method's result to disk: the image, its snapshots, its loss curve, and the sidecar.

For an output `OUT.png` a run writes `OUT.png`, `OUT.iterNNNN.png` (snapshots), `OUT.<extra>.png`
(e.g. DTP's warped image), `OUT.loss.csv`, and last `OUT.json`, the sidecar that records how the
output was made and marks it finished. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .atomic import write_json, write_text
from .images import save_png
from .method import StylizeResult


def sidecar_path(out_png: str | Path) -> Path:
    return Path(out_png).with_suffix(".json")


def loss_csv_path(out_png: str | Path) -> Path:
    return Path(out_png).with_suffix(".loss.csv")


def snapshot_path(out_png: str | Path, iteration: int) -> Path:
    return Path(out_png).with_suffix(f".iter{iteration:04d}.png")


def save_result(result: StylizeResult, out_png: str | Path, *, extra_facts: dict | None = None) -> dict:
    """Write every file of `result` next to `out_png`; the sidecar last. Returns the sidecar."""
    out_png = Path(out_png)
    save_png(out_png, result.image)
    files = {"image": out_png.name}
    for iteration, image in sorted(result.snapshots.items()):
        path = snapshot_path(out_png, iteration)
        save_png(path, image)
        files[f"iteration_{iteration}"] = path.name
    for name, image in sorted(result.extras.items()):
        path = out_png.with_suffix(f".{name}.png")
        save_png(path, image)
        files[name] = path.name
    if result.losses:
        write_text(loss_csv_path(out_png), _csv(result.losses))
        files["loss_curve"] = loss_csv_path(out_png).name
    sidecar = {"status": "ok", "reason": "", **result.facts, **(extra_facts or {}), "files": files}
    write_json(sidecar_path(out_png), sidecar)
    return sidecar


def save_status(out_png: str | Path, status: str, reason: str, facts: dict | None = None) -> dict:
    """Record a run that produced no image (`unavailable` or `failed`) with its reason."""
    sidecar = {"status": status, "reason": reason, **(facts or {}), "files": {}}
    write_json(sidecar_path(out_png), sidecar)
    return sidecar


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
