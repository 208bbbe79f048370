"""Methods from outside this repository: installed packages that declare an entry point in the group
``dtp_bench.methods`` (docs/extending.md).

An entry point names a light object, a `MethodPlugin` or a plain dict of its fields, so that a plugin
package need not even import dtp_bench to declare itself:

    [project.entry-points."dtp_bench.methods"]
    mean_colour = "dtp_mean_colour:METHOD"          # METHOD = {"stylize": "dtp_mean_colour.method:stylize", ...}

Loading the entry point must not import torch: the gather stage reads every method's label facts
(`dtp_bench.method_labels`) without loading a network. The heavy parts are named as import paths
("module:attribute") and imported only when a job runs the method (`stylize`) or the config check
builds its parameters (`config`, which should stay light too: a dataclass like the baselines').

This module imports nothing heavy; `dtp_bench.method_labels` adds each plugin's label row and
`dtp_bench.methods` its registry entry, and the config check accepts its name (`config_check`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from dataclasses import dataclass, fields

ENTRY_POINT_GROUP = "dtp_bench.methods"
KINDS = ("baseline", "reference", "precomputed", "ablation", "dtp")


@dataclass(frozen=True)
class MethodPlugin:
    """What an out-of-tree method declares. `stylize` and `config` are "module:attribute" paths,
    imported lazily: `stylize(content, style, *, config, device, seed, progress) -> StylizeResult`
    (dtp_core.method); `config` a class with `from_dict(params)` (e.g. a `baselines.config.BaselineConfig`
    dataclass) or a function params -> config object."""

    name: str
    stylize: str
    config: str
    kind: str = "baseline"            # its rows' place in the tables (dtp_bench.method_labels.KIND_ORDER)
    description: str = ""
    table_label: str | None = None    # its Table 1 row label (None: the name)
    paper_row: str | None = None      # a row of the paper's Table 1 it reproduces, if any
    needs_gpu: bool = False           # the workflow's `gpu` resource

    def __post_init__(self):
        for key in ("stylize", "config"):
            value = getattr(self, key)
            if not isinstance(value, str) or value.count(":") != 1:
                raise ValueError(f"method plugin {self.name!r}: {key} must be an import path 'module:attribute', "
                                 f"not {value!r}. Fix: name the object, e.g. 'my_package.method:{key}'")
        if self.kind not in KINDS:
            raise ValueError(f"method plugin {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}. "
                             "Fix: use 'baseline' for a method compared with DTP")


def resolve(target: str):
    """The object at "module:attribute" (imported now)."""
    module, attribute = target.split(":")
    return functools.reduce(getattr, attribute.split("."), importlib.import_module(module))


def _from_entry_point(entry) -> MethodPlugin:
    declared = entry.load()
    if callable(declared) and not isinstance(declared, (dict, MethodPlugin)):
        declared = declared()  # a factory of the declaration
    if isinstance(declared, MethodPlugin):
        plugin = declared
    elif isinstance(declared, dict):
        known = {f.name for f in fields(MethodPlugin)}
        unknown = sorted(set(declared) - known)
        if unknown:
            raise ValueError(f"method plugin {entry.name!r} ({entry.value}): unknown key(s) {', '.join(unknown)}. "
                             f"Fix: use only {', '.join(sorted(known))}")
        plugin = MethodPlugin(**{"name": entry.name, **declared})
    else:
        raise ValueError(f"method plugin {entry.name!r} ({entry.value}) is a {type(declared).__name__}. "
                         "Fix: point the entry point at a dict or a dtp_bench.plugins.MethodPlugin")
    if plugin.name != entry.name:
        raise ValueError(f"method plugin {entry.name!r} ({entry.value}) calls itself {plugin.name!r}. "
                         "Fix: give the entry point the method's name")
    return plugin


@functools.cache
def discover() -> tuple[MethodPlugin, ...]:
    """Every installed method plugin, in entry-point name order (once per process)."""
    entries = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    return tuple(_from_entry_point(entry) for entry in entries)
