"""What every baseline's typed config shares: built from the workflow's parameter dict, recorded
whole (and its non-defaults) in the output's sidecar, validated with `ConfigError`s.

A baseline's config is a frozen dataclass that inherits `BaselineConfig` and calls `require` in
its `__post_init__`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields

from dtp_core.config import typed_fields
from dtp_core.errors import ConfigError


def require(ok: bool, option: str, problem: str, fix: str = "") -> None:
    """Raise `ConfigError(option, problem, fix)` unless `ok` (validation that survives `python -O`)."""
    if not ok:
        raise ConfigError(option, problem, fix)


def positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class BaselineConfig:
    """Mixin for frozen dataclasses: `from_dict`, `to_dict`, `non_defaults`, `replace`."""

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def non_defaults(self) -> dict:
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def from_dict(cls, values: dict | None):
        """From the workflow's parameters: lists become tuples, `--config` strings what they spell, each
        checked against its field's type (`dtp_core.config.typed_fields`, shared with `DTPConfig`)."""
        return cls(**typed_fields(cls, values, f"is not a parameter of {cls.__name__}"))
