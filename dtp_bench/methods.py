"""The method registry: every name the config and the tables use -> how to run that method.

A `MethodSpec` holds the method's `stylize` callable (the call shape of `dtp_core.method`), a
function that builds its config object from the workflow's parameter dict, and what it needs.
The config schema's method enum is checked against `METHODS` by a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from dtp_core import trainer
from dtp_core.config import PRESET_DESCRIPTIONS, PRESETS, DTPConfig


@dataclass(frozen=True)
class MethodSpec:
    name: str
    stylize: Callable[..., Any]             # stylize(content, style, *, config, device, seed, progress)
    make_config: Callable[[dict], Any]      # workflow parameters -> the method's config object
    kind: str                               # "dtp" | "ablation" | "baseline" | "reference" | "precomputed"
    description: str
    needs_gpu: bool = False                 # runs on the CPU too, but wants a GPU (resources: gpu=1)
    weights: tuple[str, ...] = ()           # files it needs beyond the backbone
    table_label: str | None = None          # row label in results/table1.csv (None: not a Table 1 row)
    paper_row: str | None = None            # the matching row of the paper's Table 1 (SPEC.md)
    extra: dict = field(default_factory=dict)


def _dtp_config_builder(preset_name: str) -> Callable[[dict], DTPConfig]:
    def build(params: dict) -> DTPConfig:
        return DTPConfig.from_dict({**PRESETS[preset_name], **(params or {})})
    return build


_DTP_LABELS = {"dtp_lc4_5": "DTP, lambda_c = 4/5", "dtp_lc1_5": "DTP, lambda_c = 1/5"}

METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    METHODS[spec.name] = spec
    return spec


for _name in PRESETS:
    register(MethodSpec(
        name=_name, stylize=trainer.stylize, make_config=_dtp_config_builder(_name),
        kind="dtp" if _name in _DTP_LABELS else "ablation", description=PRESET_DESCRIPTIONS[_name],
        needs_gpu=True, table_label=_DTP_LABELS.get(_name), paper_row=_DTP_LABELS.get(_name)))


def get(name: str) -> MethodSpec:
    if name not in METHODS:
        from dtp_core.errors import ConfigError
        raise ConfigError("method", f"unknown method {name!r}", f"use one of {sorted(METHODS)}")
    return METHODS[name]
