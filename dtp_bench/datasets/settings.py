"""The `datasets:` block of the workflow config, as typed settings with the paper's defaults.

    datasets:
      names: [photo-r, celeba-hq, ffhq, dtp-examples]   # what `rule datasets` builds
      definitions: config/datasets                      # one YAML per dataset
      mirror: null              # null: upstream (raw GitHub URLs at pinned commits); or a folder
                                # (../shared/data) or an http(s) base URL with the mirror's layout;
                                # "null", "none" and "" also mean upstream (--config cannot say null)
      sizes: [256x256]          # 'SxS' exact bilinear (the paper), 'longS' aspect ratio kept
      limit: null               # keep only the first N pairs of each dataset (quick checks)
      fetch: {attempts: 4, backoff_s: 1.0, timeout_s: 60}
      pairing:                  # seeded face pairs; unset keys come from the definition's pool
        celeba-hq: {seed: 1006, pairs: 50, folder: null}
        ffhq: {seed: 1006, pairs: 14, folder: null}
      custom:                   # the user's own pairs (custom.py), each built like `names`
        mine: {folder: my_pairs}    # or {pairs: pairs.tsv}

Paths are relative to the working directory (the repository root when run by Snakemake).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from dtp_core.config import NULL_WORDS
from dtp_core.errors import ConfigError

from .custom import check_entry
from .resizing import ResizeSpec

DEFAULT_NAMES = ("photo-r", "celeba-hq", "ffhq", "dtp-examples")


@dataclass(frozen=True)
class FetchSettings:
    attempts: int = 4          # tries per file before a transient failure becomes an error
    backoff_s: float = 1.0     # wait before retry k (k = 1, 2, ...) is backoff_s * 2**(k-1)
    timeout_s: float = 60.0    # per connection attempt


@dataclass(frozen=True)
class PairingSettings:
    seed: int | None = None    # None: the definition's
    pairs: int | None = None   # pairs in the dataset, the fixed (DTP) pairs included; None: the definition's
    folder: str | None = None  # a folder of face images to draw the seeded pairs from instead of the pool


@dataclass(frozen=True)
class DatasetsSettings:
    names: tuple[str, ...] = DEFAULT_NAMES
    definitions: str = "config/datasets"
    mirror: str | None = None
    sizes: tuple[str, ...] = ("256x256",)
    limit: int | None = None
    fetch: FetchSettings = FetchSettings()
    pairing: dict[str, PairingSettings] = field(default_factory=dict)
    custom: dict[str, dict] = field(default_factory=dict)   # name -> {folder: PATH} or {pairs: TSV}

    def __post_init__(self):
        for token in self.sizes:
            ResizeSpec.parse(token)
        if not self.names:
            raise ConfigError("datasets.names", "is empty", f"name at least one dataset, e.g. {list(DEFAULT_NAMES)}")
        _check("datasets.limit", self.limit, int, 1, optional=True)
        _check("datasets.fetch.attempts", self.fetch.attempts, int, 1)
        _check("datasets.fetch.backoff_s", self.fetch.backoff_s, (int, float), 0)
        _check("datasets.fetch.timeout_s", self.fetch.timeout_s, (int, float), 1e-3)
        for name, entry in self.pairing.items():
            _check(f"datasets.pairing.{name}.seed", entry.seed, int, 0, optional=True)
            _check(f"datasets.pairing.{name}.pairs", entry.pairs, int, 0, optional=True)
            if entry.folder is not None and not isinstance(entry.folder, str):
                raise ConfigError(f"datasets.pairing.{name}.folder", f"{entry.folder!r} is not a path", "write a path")
        for name, entry in self.custom.items():
            check_entry(name, entry)
        for option, value in (("definitions", self.definitions), ("mirror", self.mirror)):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"datasets.{option}", f"{value!r} is not a path or URL", "write a string")

    @property
    def resize_specs(self) -> tuple[ResizeSpec, ...]:
        return tuple(ResizeSpec.parse(token) for token in self.sizes)

    @classmethod
    def from_config(cls, config: dict | None) -> "DatasetsSettings":
        """From the workflow config (the whole config, or None): reads its `datasets:` block."""
        block = dict((config or {}).get("datasets") or {})
        _only_known(block, cls, "datasets")
        values = dict(block)
        if "mirror" in values:
            values["mirror"] = upstream_or_mirror(values["mirror"])
        for key in ("names", "sizes"):
            if key in values:
                values[key] = tuple(_list_of_str(values[key], f"datasets.{key}"))
        if "fetch" in values:
            fetch = dict(values["fetch"] or {})
            _only_known(fetch, FetchSettings, "datasets.fetch")
            values["fetch"] = FetchSettings(**fetch)
        if "pairing" in values:
            pairing = {}
            for name, entry in (values["pairing"] or {}).items():
                entry = dict(entry or {})
                _only_known(entry, PairingSettings, f"datasets.pairing.{name}")
                pairing[name] = PairingSettings(**entry)
            values["pairing"] = pairing
        if "custom" in values:
            values["custom"] = dict(values["custom"] or {})
        return cls(**values)

    def to_dict(self) -> dict:
        """Plain values (as in the config) for records and for Snakemake `params:`."""
        return {
            "names": list(self.names), "definitions": self.definitions, "mirror": self.mirror,
            "sizes": list(self.sizes), "limit": self.limit,
            "fetch": {f.name: getattr(self.fetch, f.name) for f in fields(FetchSettings)},
            "pairing": {name: {f.name: getattr(p, f.name) for f in fields(PairingSettings)}
                        for name, p in sorted(self.pairing.items())},
            "custom": {name: dict(entry) for name, entry in sorted(self.custom.items())},
        }


def upstream_or_mirror(value):
    """`datasets.mirror` as given -> None (upstream) or the mirror. null, "null", "none", "~" and ""
    all mean upstream: Snakemake's `--config 'datasets={mirror: null}'` passes the string "null"."""
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS:
        return None
    return value


def _only_known(values: dict, cls, where: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "is not a setting", f"use one of {sorted(known)}")


def _check(option: str, value, kind, minimum, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
        raise ConfigError(option, f"{value!r} is not a number >= {minimum}", f"write a number >= {minimum}"
                          + (" (or null)" if optional else ""))


def _list_of_str(value, where: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(where, f"{value!r} is not a list of names", "write a YAML list, e.g. [a, b]")
    return list(value)
