"""A user's own pairs as a dataset (`datasets.custom` in the config; docs/extending.md).

    datasets:
      custom:
        holidays: {folder: my_pairs}        # my_pairs/content/<stem>.<ext> + my_pairs/style/<stem>.<ext>
        looks: {pairs: looks.tsv}           # a TSV with columns content, style (and optionally pair_id)

Each pair is checked when the workflow is parsed, before any job: the folder or TSV exists; every
content image has a style image of the same stem and the other way round; no stem appears twice
(`a.jpg` and `a.png`); pair ids are unique and make safe file names; every image opens and is at
least `MIN_SOURCE_SIDE` px on its shorter side. The images are then the user's own files (not fetched,
no pins): they are resized and run through the same stages as a built-in dataset's.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from dtp_core.errors import ConfigError
from dtp_core.images import MIN_SIDE_REASON, MIN_SOURCE_SIDE

from .folders import IMAGE_SUFFIXES

_SAFE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KEYS = ("folder", "pairs")


def check_entry(name: str, entry) -> dict:
    """`datasets.custom.<name>` as given -> {"folder": path} or {"pairs": path}."""
    where = f"datasets.custom.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(where, f"{name!r} is not a dataset name (lower-case letters, digits, _ and -)",
                          "rename it, e.g. my-pairs")
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in KEYS \
            or not isinstance(next(iter(entry.values())), str):
        raise ConfigError(where, f"{entry!r} is not {{folder: PATH}} or {{pairs: TSV}}",
                          "give one of them, e.g. {folder: my_pairs}")
    return dict(entry)


def custom_pairs(name: str, entry: dict) -> list[tuple[str, Path, Path]]:
    """(pair_id, content file, style file) of one custom dataset, in file order, every one checked."""
    kind, path = next(iter(check_entry(name, entry).items()))
    where = f"datasets.custom.{name}.{kind}"
    pairs = _from_folder(Path(path), where) if kind == "folder" else _from_tsv(Path(path), where)
    if not pairs:
        raise ConfigError(where, f"{path} holds no pairs", "add images (or rows) to it")
    for _, content, style in pairs:
        _check_image(content, where)
        _check_image(style, where)
    return pairs


def _from_folder(folder: Path, where: str) -> list[tuple[str, Path, Path]]:
    sides = {}
    for side in ("content", "style"):
        if not (folder / side).is_dir():
            raise ConfigError(where, f"{folder / side} is not a folder (relative paths start at {Path.cwd()})",
                              f"put the {side} images in {folder / side}/, paired with the other side by file name")
        sides[side] = _stems(folder / side, where)
    for side, other in (("content", "style"), ("style", "content")):
        unmatched = sorted(set(sides[side]) - set(sides[other]))
        if unmatched:
            raise ConfigError(where, f"{sides[side][unmatched[0]]} has no {other} image of the same name in "
                              f"{folder / other} ({len(unmatched)} unmatched)",
                              f"add {folder / other}/{unmatched[0]}.<ext>, or remove the file")
    return [(stem, sides["content"][stem], sides["style"][stem]) for stem in sorted(sides["content"])]


def _stems(folder: Path, where: str) -> dict[str, Path]:
    stems: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        if not _SAFE.match(path.stem):
            raise ConfigError(where, f"{path}: the name has characters other than letters, digits and _ . + -",
                              "rename the file (its name becomes the pair's id and part of output paths)")
        if path.stem in stems:
            raise ConfigError(where, f"{path} and {stems[path.stem]} have the same name", "keep one of them")
        stems[path.stem] = path
    return stems


def _from_tsv(table: Path, where: str) -> list[tuple[str, Path, Path]]:
    if not table.is_file():
        raise ConfigError(where, f"{table} is not a file (relative paths start at {Path.cwd()})",
                          "point it at a TSV with the columns content and style")
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
        columns = set(rows[0]) if rows else set()
    if not {"content", "style"} <= columns:
        raise ConfigError(where, f"{table} lacks the columns content and style (has {sorted(columns)})",
                          "give it a header line: content<TAB>style (pair_id optional)")
    pairs, seen = [], {}
    for line, row in enumerate(rows, start=2):
        content, style = (_resolve(table, row[key]) for key in ("content", "style"))
        pair_id = (row.get("pair_id") or "").strip() or f"{content.stem}__{style.stem}"
        if not _SAFE.match(pair_id):
            raise ConfigError(where, f"{table} line {line}: pair id {pair_id!r} has characters other than letters, "
                              "digits and _ . + -", "set a pair_id column with safe names")
        if pair_id in seen:
            raise ConfigError(where, f"{table} line {line}: pair id {pair_id!r} is also line {seen[pair_id]}",
                              "give the pairs distinct pair_id values")
        seen[pair_id] = line
        pairs.append((pair_id, content, style))
    return pairs


def _resolve(table: Path, value: str | None) -> Path:
    path = Path((value or "").strip())
    return path if path.is_absolute() else table.parent / path   # relative to the TSV


def _check_image(path: Path, where: str) -> None:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ConfigError(where, f"{path} does not exist", "fix the path, or remove the pair")
    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise ConfigError(where, f"{path} is not a readable image ({err})", "replace it with a PNG or JPEG") from None
    if min(size) < MIN_SOURCE_SIDE:
        raise ConfigError(where, f"{path} is {size[0]}x{size[1]}, smaller than {MIN_SOURCE_SIDE} px on a side "
                          f"({MIN_SIDE_REASON})", "use a larger image")
