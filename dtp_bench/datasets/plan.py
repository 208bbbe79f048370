"""What one dataset is under the current settings: its pairs, the files behind them, what is dropped.

Computed from the definitions and the config alone (no fetching), so the workflow knows every
job's inputs and outputs when it builds its DAG, and the pairs job writes exactly the same pairs.

Dataset names: a definition's name (`photo-r`: every sub-set, plus the seeded pairs of a face
dataset), `<definition>-<subset>` for one sub-set (`photo-r-dpst`, `photo-r-photonas`,
`celeba-hq-dtp`), and `<definition>-seeded` for the seeded face pairs alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dtp_core.errors import ConfigError
from dtp_core.weights import sha256_file

from . import layout
from .custom import custom_pairs
from .definitions import DatasetDefinition, PairDef, SourceFile
from .folders import scan_folder
from .pairing import RULE, seeded_pairs
from .settings import DatasetsSettings, PairingSettings
from .sources import Location, locate

SEEDED = "seeded"


@dataclass(frozen=True)
class Image:
    key: str                           # "<definition>/<id>": resized at data/resized/<size>/<key>.png
    raw: Path                          # the file that is resized: a fetched copy, or the user's own file
    source: str                        # provenance: "repo@commit:path", or "folder:<path>"
    location: Location | None = None   # where it is fetched from (None: the user's own file)
    note: str = ""


@dataclass(frozen=True)
class Pair:
    id: str
    subset: str
    content: Image
    style: Image
    extras: tuple[tuple[str, Image], ...] = ()   # e.g. ("content_seg", mask), ("dpst_output", DPST's result)
    note: str = ""


@dataclass(frozen=True)
class Dropped:
    pair_id: str
    missing: tuple[str, ...]           # the upstream files no copy of which is pinned


@dataclass(frozen=True)
class DatasetPlan:
    name: str
    definition: DatasetDefinition
    pairs: tuple[Pair, ...]
    dropped: tuple[Dropped, ...]
    defined: int                       # pairs before dropping and before `limit`
    origin: str                        # "upstream" or "mirror <where>"
    pairing: dict | None = None        # the seeded-pair rule as applied (None: fixed pairs only)
    limit: int | None = None

    def images(self) -> dict[str, Image]:
        """Content and style images (what is resized), by key."""
        return {image.key: image for pair in self.pairs for image in (pair.content, pair.style)}

    def fetches(self) -> dict[Path, Image]:
        """Every file to fetch (images and extras), by raw path."""
        images = (image for pair in self.pairs for image in (pair.content, pair.style, *(e for _, e in pair.extras)))
        return {image.raw: image for image in images if image.location is not None}


def dataset_names(definitions: dict[str, DatasetDefinition]) -> list[str]:
    names = []
    for definition in definitions.values():
        names.append(definition.name)
        names.extend(f"{definition.name}-{subset}" for subset in definition.subsets)
        if definition.pool is not None:
            names.append(f"{definition.name}-{SEEDED}")
    return names


CUSTOM = "custom"


def with_custom(definitions: dict[str, DatasetDefinition], settings: DatasetsSettings) -> dict[str, DatasetDefinition]:
    """`definitions` and a stand-in definition (no files: the user's own) per `datasets.custom` entry."""
    added = {}
    for name, entry in settings.custom.items():
        if name in definitions:
            raise ConfigError(f"datasets.custom.{name}", f"is the name of the built-in dataset {definitions[name].path}",
                              "give your pairs another name")
        kind, path = next(iter(entry.items()))
        added[name] = DatasetDefinition(name=name, title=f"{name}: the user's own pairs ({kind} {path})",
                                        path=Path(path), files={}, subsets={}, description=CUSTOM)
    return {**definitions, **added}


def plan_dataset(name: str, settings: DatasetsSettings, definitions: dict[str, DatasetDefinition]) -> DatasetPlan:
    if name in settings.custom:
        return _custom_plan(name, settings, definitions)
    definition, subsets, seeded = _resolve(name, definitions)
    origin = "upstream" if settings.mirror is None else f"mirror {settings.mirror}"
    fixed, dropped = [], []
    for pair_def in (p for subset in subsets for p in definition.subsets[subset]):
        missing = tuple(definition.files[f].upstream for f in _file_ids(pair_def) if not definition.files[f].pinned)
        if missing:
            dropped.append(Dropped(pair_def.id, missing))
        else:
            fixed.append(_fixed_pair(definition, pair_def, settings.mirror))
    drawn, pairing = _seeded(definition, settings) if seeded else ([], None)
    pairs = fixed + drawn
    defined = len(pairs) + len(dropped)
    if settings.limit is not None:
        pairs = pairs[:settings.limit]
    return DatasetPlan(name=name, definition=definition, pairs=tuple(pairs), dropped=tuple(dropped), defined=defined,
                       origin=origin, pairing=pairing, limit=settings.limit)


def _custom_plan(name: str, settings: DatasetsSettings, definitions: dict[str, DatasetDefinition]) -> DatasetPlan:
    def image(role: str, pair_id: str, path: Path) -> Image:
        return Image(key=f"{name}/{role}/{pair_id}", raw=path, source=f"folder:{path}")
    pairs = [Pair(id=pair_id, subset=CUSTOM, content=image("content", pair_id, content),
                  style=image("style", pair_id, style))
             for pair_id, content, style in custom_pairs(name, settings.custom[name])]
    defined = len(pairs)
    if settings.limit is not None:
        pairs = pairs[:settings.limit]
    definition = definitions.get(name) or with_custom({}, settings)[name]
    return DatasetPlan(name=name, definition=definition, pairs=tuple(pairs), dropped=(), defined=defined,
                       origin="the user's own files", limit=settings.limit)


def _resolve(name: str, definitions: dict[str, DatasetDefinition]) -> tuple[DatasetDefinition, list[str], bool]:
    """(definition, its sub-sets to include, whether to include the seeded pairs)."""
    if name in definitions:
        definition = definitions[name]
        return definition, list(definition.subsets), definition.pool is not None
    for definition in definitions.values():
        prefix = f"{definition.name}-"
        if name.startswith(prefix):
            part = name[len(prefix):]
            if part in definition.subsets:
                return definition, [part], False
            if part == SEEDED and definition.pool is not None:
                return definition, [], True
    raise ConfigError("datasets.names", f"{name!r} is not a dataset", f"use one of {dataset_names(definitions)}")


def _file_ids(pair_def: PairDef) -> list[str]:
    return [pair_def.content, pair_def.style, *(file_id for _, file_id in pair_def.extras)]


def _fetched_image(definition: DatasetDefinition, file: SourceFile, mirror: str | None) -> Image:
    location = locate(file, mirror)
    return Image(key=f"{definition.name}/{file.id}", raw=layout.raw_path(definition.name, file.id, file.suffix),
                 source=file.upstream, location=location, note=location.note)


def _fixed_pair(definition: DatasetDefinition, pair_def: PairDef, mirror: str | None) -> Pair:
    image = lambda file_id: _fetched_image(definition, definition.files[file_id], mirror)  # noqa: E731
    return Pair(id=pair_def.id, subset=pair_def.subset, content=image(pair_def.content), style=image(pair_def.style),
                extras=tuple((name, image(file_id)) for name, file_id in pair_def.extras), note=pair_def.note)


def _seeded(definition: DatasetDefinition, settings: DatasetsSettings) -> tuple[list[Pair], dict]:
    pool = definition.pool
    chosen = settings.pairing.get(definition.name, PairingSettings())
    seed = pool.seed if chosen.seed is None else chosen.seed
    total = pool.pairs if chosen.pairs is None else chosen.pairs
    fixed_defs = definition.fixed_pairs()
    count = total - len(fixed_defs)
    if count < 0:
        raise ConfigError(f"datasets.pairing.{definition.name}.pairs", f"{total} is fewer than the "
                          f"{len(fixed_defs)} fixed pairs of {definition.path}", f"ask for at least {len(fixed_defs)}")
    same = _same_image_keys(definition)
    taken = {same[f] for pair_def in fixed_defs for f in (pair_def.content, pair_def.style)}
    if chosen.folder is None:
        candidates = [f for f in pool.files if definition.files[f].pinned]
        make = lambda image_id: _fetched_image(definition, definition.files[image_id], settings.mirror)  # noqa: E731
        identity = same.__getitem__
    else:
        folder = {image.id: image.path for image in scan_folder(chosen.folder, f"datasets.pairing.{definition.name}.folder")}
        candidates = list(folder)
        make = lambda image_id: Image(key=f"{definition.name}/{image_id}", raw=folder[image_id],  # noqa: E731
                                      source=f"folder:{folder[image_id]}")
        identity = lambda image_id: sha256_file(folder[image_id])  # noqa: E731
    pairs = seeded_pairs(candidates, seed=seed, count=count, identity=identity, taken=taken, dataset=definition.name)
    rule = {"seed": seed, "pairs": total, "fixed_pairs": len(fixed_defs), "seeded_pairs": count,
            "candidates": len(candidates), "from": chosen.folder or f"{definition.path} pool", "rule": RULE}
    return [Pair(id=f"{_flat(c)}__{_flat(s)}", subset=SEEDED, content=make(c), style=make(s)) for c, s in pairs], rule


def _same_image_keys(definition: DatasetDefinition) -> dict[str, str]:
    """file id -> a key shared by every file showing the same image (equal sha256, or listed as the
    same image): the smallest sha256 in its group, so that a user's file with the same bytes matches."""
    parent = {file_id: file_id for file_id in definition.files}

    def root(file_id: str) -> str:
        while parent[file_id] != file_id:
            file_id = parent[file_id]
        return file_id

    by_digest: dict[str, str] = {}
    groups = [list(group) for group in definition.pool.same_image]
    for file_id, file in definition.files.items():
        if file.pinned:
            groups.append([by_digest.setdefault(file.sha256, file_id), file_id])
    for group in groups:
        for other in group[1:]:
            parent[root(other)] = root(group[0])
    members: dict[str, list[str]] = {}
    for file_id in definition.files:
        members.setdefault(root(file_id), []).append(file_id)
    keys = {}
    for group in members.values():
        digests = [definition.files[f].sha256 for f in group if definition.files[f].pinned]
        key = min(digests) if digests else f"unpinned:{group[0]}"
        keys.update({file_id: key for file_id in group})
    return keys


def _flat(image_id: str) -> str:
    return image_id.replace("/", "-")
