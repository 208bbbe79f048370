"""What every baseline's typed config shares: built from the workflow's parameter dict, recorded
whole (and its non-defaults) in the output's sidecar, validated with `ConfigError`s.

A baseline's config is a frozen dataclass that inherits `BaselineConfig` and calls `require` in
its `__post_init__`.
"""

from __future__ import annotations

from dtp_core.config import MethodConfig
from dtp_core.errors import ConfigError


def require(ok: bool, option: str, problem: str, fix: str = "") -> None:
    """Raise `ConfigError(option, problem, fix)` unless `ok` (validation that survives `python -O`)."""
    if not ok:
        raise ConfigError(option, problem, fix)


def positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class BaselineConfig(MethodConfig):
    """Mixin for a baseline's frozen dataclass: `from_dict`, `to_dict`, `non_defaults`, `replace`, the
    same as `DTPConfig`'s (`dtp_core.config.MethodConfig`); an unknown parameter is refused naming
    the config class."""
