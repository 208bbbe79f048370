"""The method registry: every name the config and the tables use -> how to run that method.

A `MethodSpec` holds the method's `stylize` callable (the call shape of `dtp_core.method`), a
function that builds its config object from the workflow's parameter dict, and what it needs. What
the tables say about it (kind, description, Table 1 label, the paper's row) is its row of
`dtp_bench.method_labels.LABELS`, the light table the gather stage reads without loading torch.
The config schema's method enum is checked against `METHODS` by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from baselines import dpst, gatys, histogram, identity, reinhard, sinir, strotss, warped_style
from baselines import checkpoints, cocosnet, swapping_ae, wct, wct2
from dtp_core import batched, trainer
from dtp_core.config import PRESETS, DTPConfig

from . import plugins
from .method_labels import LABELS


@dataclass(frozen=True)
class MethodSpec:
    name: str
    stylize: Callable[..., Any]             # stylize(content, style, *, config, device, seed, progress)
    make_config: Callable[[dict], Any]      # workflow parameters -> the method's config object
    needs_gpu: bool = False                 # runs on the CPU too, but wants a GPU (resources: gpu=1)
    weights: tuple[str, ...] = ()           # files it needs beyond the backbone
    stylize_many: Callable[..., Any] | None = None  # several pairs as one computation (batch_pairs > 1)
    extra: dict = field(default_factory=dict)

    # What the tables say about the method: its row of LABELS (written there once).
    @property
    def kind(self) -> str:
        return LABELS[self.name].kind  # "dtp" | "ablation" | "baseline" | "reference" | "precomputed"

    @property
    def description(self) -> str:
        return LABELS[self.name].description

    @property
    def table_label(self) -> str | None:
        return LABELS[self.name].table_label  # row label in results/table1.csv (None: not a Table 1 row)

    @property
    def paper_row(self) -> str | None:
        return LABELS[self.name].paper_row  # the matching row of the paper's Table 1 (SPEC.md)


def _dtp_config_builder(preset_name: str) -> Callable[[dict], DTPConfig]:
    def build(params: dict) -> DTPConfig:
        return DTPConfig.from_dict({**PRESETS[preset_name], **(params or {})})
    return build


METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    if spec.name not in LABELS:
        raise ValueError(f"method {spec.name!r} has no row in dtp_bench/method_labels.py (LABELS): add one")
    METHODS[spec.name] = spec
    return spec


for _name in PRESETS:
    register(MethodSpec(
        name=_name, stylize=trainer.stylize, stylize_many=batched.stylize_many, make_config=_dtp_config_builder(_name),
        needs_gpu=True))


# Methods that need no one's trained weights (the VGG loss network aside): optimising baselines,
# references, and DPST's committed outputs.

register(MethodSpec(
    name="gatys", stylize=gatys.stylize, make_config=gatys.GatysConfig.from_dict, needs_gpu=True))
register(MethodSpec(
    name="strotss", stylize=strotss.stylize, make_config=strotss.StrotssConfig.from_dict, needs_gpu=True))
register(MethodSpec(
    name="sinir", stylize=sinir.stylize, make_config=sinir.SinIRConfig.from_dict, needs_gpu=True))
register(MethodSpec(
    name="identity", stylize=identity.stylize, make_config=identity.IdentityConfig.from_dict))
register(MethodSpec(
    name="reinhard", stylize=reinhard.stylize, make_config=reinhard.ReinhardConfig.from_dict))
register(MethodSpec(
    name="histogram", stylize=histogram.stylize, make_config=histogram.HistogramConfig.from_dict))
register(MethodSpec(
    name="warped_style", stylize=warped_style.stylize, make_config=warped_style.WarpedStyleConfig.from_dict))
register(MethodSpec(
    name="dpst", stylize=dpst.stylize, make_config=dpst.DPSTConfig.from_dict,
    # The job fills the `file` parameter from the pair's `dpst_output` extra (a fetched file).
    extra={"params_from_pair": {"file": "dpst_output"}}))


# Methods that need their authors' released checkpoints (baselines/weights.yaml); without them the
# cell is "unavailable: needs FILE from URL".

register(MethodSpec(
    name="wct", stylize=wct.stylize, make_config=wct.WCTConfig.from_dict, needs_gpu=True, weights=wct.PTH_FILES,
    extra={"alternative_weights": wct.T7_FILES}))
register(MethodSpec(
    name="wct2", stylize=wct2.stylize, make_config=wct2.WCT2Config.from_dict, needs_gpu=True, weights=wct2.FILES))
register(MethodSpec(
    name="swapping_ae", stylize=swapping_ae.stylize, make_config=swapping_ae.SwappingAEConfig.from_dict,
    needs_gpu=True, weights=tuple(f"{m}/{swapping_ae.CHECKPOINT}" for m in swapping_ae.MODELS)))
register(MethodSpec(
    name="cocosnet", stylize=cocosnet.stylize, make_config=cocosnet.CoCosNetConfig.from_dict, needs_gpu=True,
    weights=cocosnet.FILES))


# Methods of installed packages (entry point group `dtp_bench.methods`, dtp_bench/plugins.py,
# docs/extending.md): their code is imported when a job first calls it, not here.

def _lazy(target: str) -> Callable[..., Any]:
    def call(*args, **kwargs):
        return plugins.resolve(target)(*args, **kwargs)
    call.__name__ = call.__qualname__ = target
    return call


def _plugin_config(target: str) -> Callable[[dict], Any]:
    def build(params: dict):
        made = plugins.resolve(target)
        return made.from_dict(params or {}) if hasattr(made, "from_dict") else made(params or {})
    return build


for _plugin in plugins.discover():
    register(MethodSpec(name=_plugin.name, stylize=_lazy(_plugin.stylize), make_config=_plugin_config(_plugin.config),
                        needs_gpu=_plugin.needs_gpu, extra={"plugin": _plugin}))


def get(name: str) -> MethodSpec:
    if name not in METHODS:
        from dtp_core.errors import ConfigError
        raise ConfigError("method", f"unknown method {name!r}", f"use one of {sorted(METHODS)}")
    return METHODS[name]


def weight_files(name: str, params: dict | None = None) -> tuple[Path, ...]:
    """Every checkpoint file method `name` looks for (either released set, where it accepts two), at
    the place it looks: ``<weights_dir>/<name>/<file>``, `weights_dir` being the method's parameter,
    else $DTP_WEIGHTS_DIR, else data/weights (`baselines.checkpoints.locate`). Empty for methods
    that need no one's checkpoints."""
    spec = get(name)
    names = spec.weights + tuple(spec.extra.get("alternative_weights", ()))
    folder = checkpoints.weights_dir((params or {}).get("weights_dir")) / name
    return tuple(folder / file for file in names)


def files_state(paths: Iterable[str | os.PathLike]) -> str:
    """``path size mtime_ns`` or ``path absent`` per file, one stat each (no reading): it changes when
    a file appears, goes or is replaced. The workflow makes it part of a job's parameters, so that a
    cell that said "unavailable" for want of a file is redone once the file is there."""
    states = []
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            states.append(f"{path} absent")
        else:
            states.append(f"{path} {stat.st_size} {stat.st_mtime_ns}")
    return "; ".join(states)
