"""Writing a method's result to disk: the image, its snapshots, its loss curve, and the sidecar.

For an output `OUT.png` a run writes `OUT.png`, `OUT.iterNNNN.png` (snapshots), `OUT.<extra>.png`
(e.g. DTP's warped image), `OUT.loss.csv`, and last `OUT.json`, the sidecar that records how the
output was made and marks it finished. Every file is written atomically. `planned_paths` names
them all and `save_result` writes through it, so what is checked before a run and what the run
writes cannot drift apart; `check_outputs` is that check.

While a DTP run goes, its loss curve grows in `OUT.loss.partial.csv` (`dtp_core.progress.LossStream`),
so a killed run leaves the iterations it did under a name no finished result uses: neither it nor
an earlier result it would overwrite looks finished with the wrong curve. `save_result` removes it
once the finished `OUT.loss.csv` is in place; beside a failed run's sidecar it stays.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

from .atomic import write_json, write_text
from .errors import OutputError
from .images import save_png
from .method import StylizeResult


def sidecar_path(out_png: str | Path) -> Path:
    return Path(out_png).with_suffix(".json")


def loss_csv_path(out_png: str | Path) -> Path:
    return Path(out_png).with_suffix(".loss.csv")


def partial_loss_csv_path(out_png: str | Path) -> Path:
    """The loss curve of a run still going (or killed): not a result, so not in `planned_paths`."""
    return Path(out_png).with_suffix(".loss.partial.csv")


def snapshot_path(out_png: str | Path, iteration: int) -> Path:
    return Path(out_png).with_suffix(f".iter{iteration:04d}.png")


def extra_path(out_png: str | Path, name: str) -> Path:
    return Path(out_png).with_suffix(f".{name}.png")


def planned_paths(out_png: str | Path, snapshots: Iterable[int] = (), extras: Iterable[str] = ()) -> dict[str, Path]:
    """Every file a run writes for `out_png`, keyed as in the sidecar's `files` record, and last
    `sidecar` (written last). `snapshots`: iteration numbers; `extras`: names of extra images."""
    out_png = Path(out_png)
    paths = {"image": out_png}
    paths.update({f"iteration_{iteration}": snapshot_path(out_png, iteration) for iteration in sorted(snapshots)})
    paths.update({name: extra_path(out_png, name) for name in sorted(extras)})
    paths["loss_curve"] = loss_csv_path(out_png)
    paths["sidecar"] = sidecar_path(out_png)
    return paths


def save_result(result: StylizeResult, out_png: str | Path, *, extra_facts: dict | None = None) -> dict:
    """Write every file of `result` next to `out_png`; the sidecar last. Returns the sidecar."""
    paths = planned_paths(out_png, result.snapshots, result.extras)
    images = {"image": result.image, **{f"iteration_{i}": image for i, image in result.snapshots.items()},
              **result.extras}
    written = [key for key in paths if key in images]
    for key in written:
        save_png(paths[key], images[key])
    if result.losses:
        write_text(paths["loss_curve"], _csv(result.losses))
        written.append("loss_curve")
    with contextlib.suppress(FileNotFoundError):  # the finished curve replaces the one that grew
        os.unlink(partial_loss_csv_path(out_png))
    sidecar = {"status": "ok", "reason": "", **result.facts, **(extra_facts or {}),
               "files": {key: paths[key].name for key in written}}
    write_json(paths["sidecar"], sidecar)
    return sidecar


def check_outputs(paths: Iterable[str | Path], inputs: dict[str, str | Path], *, overwrite: bool = False) -> None:
    """Refuse, before any work starts, output `paths` (the image first) that a run must not or
    cannot write: one of the `inputs` (e.g. {"content image": path}), a folder, a path under a
    file, a folder that cannot be written or created, and unless `overwrite`, a file already
    there. Touches nothing; raises `OutputError` naming the path and the fix."""
    paths = [Path(path) for path in paths]
    for path in paths:
        _refuse_input(path, paths[0], inputs)
        if os.path.isdir(path):
            raise OutputError(path, "is a folder", "choose another -o path, or move the folder away")
    for folder in dict.fromkeys(path.parent for path in paths):
        _check_folder(next(path for path in paths if path.parent == folder))
    if not overwrite:
        _refuse_existing(paths)


def _refuse_existing(paths: list[Path]) -> None:
    existing = [path for path in paths if os.path.lexists(path)]  # a dangling link counts: it is the user's
    if existing:
        others = f", as do {', '.join(path.name for path in existing[1:])}" if len(existing) > 1 else ""
        raise OutputError(existing[0], f"already exists{others}",
                          f"pass --overwrite to replace {'them' if others else 'it'}, or choose another -o path")


def _refuse_input(path: Path, out_png: Path, inputs: dict[str, str | Path]) -> None:
    for what, source in inputs.items():
        if _same_file(path, Path(source)):
            beside = "" if path == out_png else f" (a run with -o {out_png.name} also writes {path.name})"
            raise OutputError(path, f"would overwrite the {what}{beside}", "choose another -o path")


def _same_file(a: Path, b: Path) -> bool:
    """Same file however named (`./a.png`, `a.png`, a link, a hard link); paths not there yet are
    compared by their resolved form."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_folder(path: Path) -> None:
    """`path`'s folder is writable, or can be created (atomic_path creates it when writing)."""
    folder = existing = path.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    if not os.path.isdir(existing):
        kind = "a file" if os.path.isfile(existing) else "not a folder"
        raise OutputError(path, f"parent {existing} is {kind}", "choose another -o path")
    if not os.access(existing, os.W_OK | os.X_OK):
        problem = f"folder {folder} is not writable" if existing == folder else \
            f"cannot create folder {folder}: {existing} is not writable"
        raise OutputError(path, problem, f"choose a folder you can write to, or make {existing} writable (chmod u+w)")


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
