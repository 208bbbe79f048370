"""Dataset definitions: the data files under `config/datasets/`, one per dataset, read and checked.

A definition names where every file really lives upstream (repository, pinned commit, path, the
raw URL at that commit, sha256 and size), where the mirror keeps its copy, and which files make
which pairs. Face datasets add a `pool`: the images seeded pairs are drawn from (`pairing.py`).
Nothing here touches the network or the disk beyond reading the YAML file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from dtp_core.errors import ConfigError

_SAFE_RELATIVE = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")
_HEX = re.compile(r"^[0-9a-f]+$")
FULL_SHA256 = 64
SHA256_PREFIX = 16   # the mirror's MANIFEST records only this many hex digits of a downscaled file's original


@dataclass(frozen=True)
class Source:
    """One upstream repository, pinned at a commit."""
    name: str
    repo: str
    commit: str
    licence: str = ""


@dataclass(frozen=True)
class SourceFile:
    """One file of a dataset, as upstream has it and as the mirror keeps it."""
    id: str                            # key inside its definition, e.g. "dpst/input/in1"
    source: Source
    path: str                          # path in the repository at `source.commit`
    url: str                           # raw URL of that path at that commit
    sha256: str | None                 # None: not pinned (no copy was ever checked), so never used
    bytes: int | None = None
    mirror: str | None = None          # path relative to a mirror's root
    mirror_sha256: str | None = None   # set when the mirror's copy is not a byte copy (downscaled)
    mirror_bytes: int | None = None
    mirror_note: str = ""              # how the mirror's copy differs (when it is not a byte copy)
    note: str = ""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix

    @property
    def upstream(self) -> str:
        return f"{self.source.repo}@{self.source.commit}:{self.path}"


@dataclass(frozen=True)
class PairDef:
    """A fixed pair: content and style file ids, plus named extra files (masks, reference outputs)."""
    id: str
    subset: str
    content: str
    style: str
    extras: tuple[tuple[str, str], ...] = ()   # (column name, file id), e.g. ("content_seg", "dpst/segmentation/in1")
    note: str = ""


@dataclass(frozen=True)
class Pool:
    """The images seeded pairs are drawn from, and the default pairing rule (config overrides)."""
    files: tuple[str, ...]
    same_image: tuple[tuple[str, ...], ...] = ()   # groups of file ids that show the same image
    seed: int = 1006
    pairs: int = 0                                 # pairs in the whole dataset, fixed ones included


@dataclass(frozen=True)
class DatasetDefinition:
    name: str
    title: str
    path: Path
    files: dict[str, SourceFile]
    subsets: dict[str, tuple[PairDef, ...]]
    pool: Pool | None = None
    licence: str = ""
    description: str = ""

    def fixed_pairs(self, subset: str | None = None) -> tuple[PairDef, ...]:
        if subset is None:
            return tuple(pair for pairs in self.subsets.values() for pair in pairs)
        return self.subsets[subset]


def load_definition(path: str | Path) -> DatasetDefinition:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(str(path), f"cannot be read ({err.strerror})", "check the datasets.definitions folder") from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"is not valid YAML ({err})", "fix the file or regenerate it") from None
    reader = _Reader(path)
    top = reader.mapping(raw, "", required=("name", "title", "sources", "files", "subsets"),
                         optional=("licence", "description", "pool"))
    sources = {name: Source(name=name, **reader.mapping(value, f"sources.{name}", required=("repo", "commit"),
                                                         optional=("licence",)))
               for name, value in reader.mapping(top["sources"], "sources").items()}
    files = {file_id: reader.source_file(file_id, value, sources)
             for file_id, value in reader.mapping(top["files"], "files").items()}
    subsets = {name: tuple(reader.pair(name, i, value, files) for i, value in enumerate(reader.sequence(pairs, f"subsets.{name}")))
               for name, pairs in reader.mapping(top["subsets"], "subsets").items()}
    pool = reader.pool(top["pool"], files) if top.get("pool") is not None else None
    reader.unique_pair_ids(subsets)
    if top["name"] != path.stem:
        raise ConfigError(f"{path}: name", f"is {top['name']!r} but the file is {path.name}", f"rename one to match")
    return DatasetDefinition(name=top["name"], title=top["title"], path=path, files=files, subsets=subsets, pool=pool,
                             licence=top.get("licence", ""), description=top.get("description", ""))


def load_definitions(folder: str | Path) -> dict[str, DatasetDefinition]:
    folder = Path(folder)
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise ConfigError("datasets.definitions", f"{folder} holds no dataset definitions (*.yaml)",
                          "point it at the project's config/datasets folder")
    return {definition.name: definition for definition in map(load_definition, paths)}


class _Reader:
    """Checks one definition file, naming the file and key in every error."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, key: str, problem: str, fix: str = "fix the definition or regenerate it") -> ConfigError:
        return ConfigError(f"{self.path}: {key}" if key else str(self.path), problem, fix)

    def mapping(self, value, key: str, required=(), optional=None) -> dict:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a mapping, not {type(value).__name__}")
        missing = [name for name in required if name not in value]
        if missing:
            raise self.error(key, f"lacks {missing}")
        if optional is not None:
            unknown = sorted(set(value) - set(required) - set(optional))
            if unknown:
                raise self.error(key, f"has unknown keys {unknown}", f"use only {sorted((*required, *optional))}")
        return value

    def sequence(self, value, key: str) -> list:
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, not {type(value).__name__}")
        return value

    def relative(self, value, key: str) -> str:
        if not isinstance(value, str) or not _SAFE_RELATIVE.match(value) or ".." in value.split("/"):
            raise self.error(key, f"{value!r} is not a plain relative path (letters, digits, _ . + - and /)")
        return value

    def digest(self, value, key: str, size: int | None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _HEX.match(value) or len(value) not in (FULL_SHA256, SHA256_PREFIX):
            raise self.error(key, f"{value!r} is not a lower-case sha256 ({FULL_SHA256} hex digits, or a "
                                  f"{SHA256_PREFIX}-digit prefix)")
        if len(value) == SHA256_PREFIX and size is None:
            raise self.error(key, "is only a prefix, so the file's size in bytes must be given too")
        return value

    def count(self, value, key: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(key, f"{value!r} is not a byte count")
        return value

    def source_file(self, file_id, value, sources: dict[str, Source]) -> SourceFile:
        key = f"files.{file_id}"
        self.relative(file_id, key)
        value = self.mapping(value, key, required=("source", "path", "url", "sha256"),
                             optional=("bytes", "mirror", "mirror_sha256", "mirror_bytes", "mirror_note", "note"))
        if value["source"] not in sources:
            raise self.error(f"{key}.source", f"{value['source']!r} is not one of the sources {sorted(sources)}")
        source = sources[value["source"]]
        url = value["url"]
        if not isinstance(url, str) or not url.startswith("https://") or source.commit not in url:
            raise self.error(f"{key}.url", f"{url!r} is not an https URL pinned at commit {source.commit}")
        size = self.count(value.get("bytes"), f"{key}.bytes")
        mirror_size = self.count(value.get("mirror_bytes"), f"{key}.mirror_bytes")
        mirror_sha = self.digest(value.get("mirror_sha256"), f"{key}.mirror_sha256", mirror_size)
        if mirror_sha is not None and len(mirror_sha) != FULL_SHA256:
            raise self.error(f"{key}.mirror_sha256", "must be a full sha256")
        return SourceFile(
            id=file_id, source=source, path=self.relative(value["path"], f"{key}.path"), url=url,
            sha256=self.digest(value["sha256"], f"{key}.sha256", size), bytes=size,
            mirror=None if value.get("mirror") is None else self.relative(value["mirror"], f"{key}.mirror"),
            mirror_sha256=mirror_sha, mirror_bytes=mirror_size, mirror_note=str(value.get("mirror_note", "")),
            note=str(value.get("note", "")))

    def known_file(self, file_id, key: str, files: dict[str, SourceFile]) -> str:
        if file_id not in files:
            raise self.error(key, f"names {file_id!r}, which is not under files:")
        return file_id

    def pair(self, subset: str, index: int, value, files: dict[str, SourceFile]) -> PairDef:
        key = f"subsets.{subset}[{index}]"
        value = self.mapping(value, key, required=("id", "content", "style"), optional=("extras", "note"))
        extras = self.mapping(value.get("extras") or {}, f"{key}.extras")
        return PairDef(
            id=self.relative(str(value["id"]), f"{key}.id"), subset=subset,
            content=self.known_file(value["content"], f"{key}.content", files),
            style=self.known_file(value["style"], f"{key}.style", files),
            extras=tuple((name, self.known_file(file_id, f"{key}.extras.{name}", files))
                         for name, file_id in extras.items()),
            note=str(value.get("note", "")))

    def pool(self, value, files: dict[str, SourceFile]) -> Pool:
        value = self.mapping(value, "pool", required=("files", "seed", "pairs"), optional=("same_image",))
        pool_files = tuple(self.known_file(f, "pool.files", files) for f in self.sequence(value["files"], "pool.files"))
        groups = tuple(tuple(self.known_file(f, "pool.same_image", files) for f in self.sequence(group, "pool.same_image"))
                       for group in self.sequence(value.get("same_image") or [], "pool.same_image"))
        for key in ("seed", "pairs"):
            if isinstance(value[key], bool) or not isinstance(value[key], int) or value[key] < 0:
                raise self.error(f"pool.{key}", f"{value[key]!r} is not a non-negative integer")
        return Pool(files=pool_files, same_image=groups, seed=value["seed"], pairs=value["pairs"])

    def unique_pair_ids(self, subsets: dict[str, tuple[PairDef, ...]]) -> None:
        seen: set[str] = set()
        for pairs in subsets.values():
            for pair in pairs:
                if pair.id in seen:
                    raise self.error("subsets", f"pair id {pair.id!r} is used twice")
                seen.add(pair.id)
