"""The workflow's configuration checked whole at parse time: every bad value refused before a job starts.

    config.update(typed_command_line(config, SCHEMA))   # nested --config values arrive as strings
    validate(config, SCHEMA)                            # the schema: shapes, types, ranges, method names
    config.update(check_config(config))                 # what the schema cannot say

`check_config` raises one `ConfigError`, ``KEY.PATH: problem. Fix: fix``, for the first bad value of:
- `results`: a folder the run can write (not a file, not under a file, writable or creatable);
- `datasets`: the block as the datasets stage reads it (`DatasetsSettings.from_config`); a local mirror
  folder that does not exist (null, "null", "none" and "" mean upstream; an http(s) URL is not checked);
- every dataset name (benchmark_datasets, datasets.names, methods.<m>.datasets, report.table1_datasets,
  report.figures' datasets and pairs) that the definitions do not define, with the closest known name;
- every method name of report.figures that is not registered, with the closest;
- method plugins (dtp_bench/plugins.py): `schema_with_plugins` adds the installed plugins' names to the
  schema's method enums before it is read, so they are accepted and suggested like the built-in ones;
- `methods.<m>.params`, built into the method's config by `MethodSpec.make_config`, the very call the
  method's jobs make (dtp_bench/stylize_job.py `_prepare`): what a job would refuse is refused here.
It returns the config with the values the jobs will use (a mirror of "null" as null, parameters given
as strings on the command line as their types), so that a job's command, and so its identity, is the
same whether a value came from a config file or from `--config`. docs/refusals.md lists the messages.
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path

import yaml

from dtp_core.config import NULL_WORDS, REFUSED, read_scalar
from dtp_core.errors import ConfigError, DTPError, OutputError
from dtp_core.outputs import check_outputs

from . import methods as registry
from .datasets.definitions import load_definitions
from .datasets.plan import dataset_names
from .datasets.settings import DatasetsSettings
from .datasets.sources import is_remote
from .delivered import split_delivered


def check_config(config: dict) -> dict:
    """The config (after the schema) as the jobs will use it, or one `ConfigError` for its first bad value."""
    checked = copy.deepcopy(config)
    _check_results_folder(checked["results"])
    settings = DatasetsSettings.from_config(checked)  # each key's type and range, named (datasets.limit: ...)
    if "mirror" in (checked.get("datasets") or {}):
        checked["datasets"]["mirror"] = settings.mirror
    _check_mirror(settings.mirror)
    check_dataset_names(checked, known_datasets(settings.definitions) + list(settings.custom))  # + the user's own
    _check_method_names(checked)
    for method, entry in checked["methods"].items():
        if entry and entry.get("params"):
            entry["params"] = checked_params(method, entry["params"])
    return checked


def checked_params(method: str, params: dict) -> dict:
    """`methods.<method>.params` after the method's own config class read them, as its jobs will, or
    a `ConfigError` naming `methods.<method>.params.<key>`. Values given as strings (`--config`)
    come back as what they spell; every other value comes back unchanged."""
    where = f"methods.{method}.params"
    try:
        config = registry.get(method).make_config(params)  # the call of stylize_job._prepare
    except ConfigError as err:
        fix = err.fix or f"change {where}.{err.option} in the config file or the --config override"
        raise ConfigError(f"{where}.{err.option}", err.problem, fix) from None
    except (TypeError, ValueError) as err:  # a config class's check that assumed a type
        raise ConfigError(where, f"{type(err).__name__}: {err}", "check the types of these parameters") from None
    return {key: _plain(getattr(config, key, value)) if _has_string(value) else value for key, value in params.items()}


def known_datasets(definitions: str | Path) -> list[str]:
    """Every dataset name the definitions in `definitions` (datasets.definitions) define."""
    return dataset_names(load_definitions(definitions))


def check_dataset_names(config: dict, known: list[str] | None = None) -> None:
    """Every dataset name anywhere in `config` must be one of `known` (default: what its definitions
    define). An empty list is allowed (a method's `datasets: []` turns it off). Safe on a config the
    schema refused: what is not a list of names is left to the schema."""
    if known is None:
        definitions = (config.get("datasets") or {}).get("definitions", "config/datasets") \
            if isinstance(config.get("datasets"), dict) else "config/datasets"
        try:
            known = known_datasets(definitions)
        except (DTPError, OSError, TypeError):
            return  # the schema's message, or the datasets stage's, says what is wrong there
    for where, names in _dataset_names(config):
        for name, said in names:
            if name not in known:
                raise _unknown(where, "dataset", name, known, said,
                               "write a dataset that config/datasets defines (a definition, or <definition>-<subset>)")


def _dataset_names(config: dict):
    """(key path, [(dataset name, as written)]) for every list of dataset names in the config."""
    def names(value, pairs=False):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return []
        return [(item.split("/", 1)[0] if pairs else item, item) for item in value]

    datasets, report = _block(config, "datasets"), _block(config, "report")
    figures = _block(report, "figures")
    yield "benchmark_datasets", names(config.get("benchmark_datasets"))
    yield "datasets.names", names(datasets.get("names"))
    for method, entry in _block(config, "methods").items():
        yield f"methods.{method}.datasets", names(entry.get("datasets") if isinstance(entry, dict) else None)
    for column, pooled in _block(report, "table1_datasets").items():
        yield f"report.table1_datasets.{column}", names(pooled)
    for key in ("photo_datasets", "face_datasets"):
        yield f"report.figures.{key}", names(figures.get(key))
    for key in ("photo_pairs", "face_pairs", "ablation_pairs"):
        yield f"report.figures.{key}", names(figures.get(key), pairs=True)
    pair = _block(figures, "loss_curve").get("pair")
    yield "report.figures.loss_curve.pair", names([pair] if pair else [], pairs=True)


def schema_with_plugins(schema: str | Path, folder: str | Path = ".snakemake/dtp_bench") -> str:
    """The schema to validate the config with: `schema` itself, or, where method plugins are installed
    (dtp_bench/plugins.py), a copy written under `folder` whose method enums (`methods` keys,
    `delivery.methods`) also hold the plugins' names. The schema file keeps this repository's
    methods only (a test checks them against the registry's built-in ones)."""
    from . import plugins

    added = [plugin.name for plugin in plugins.discover()]
    if not added:
        return str(schema)
    loaded = yaml.safe_load(Path(schema).read_text())
    for enum in (loaded["properties"]["methods"]["propertyNames"]["enum"],
                 loaded["properties"]["delivery"]["properties"]["methods"]["items"]["enum"]):
        enum.extend(name for name in added if name not in enum)
    target = Path(folder) / "config.schema.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")  # jobs parse the workflow at once
    partial.write_text(yaml.safe_dump(loaded, sort_keys=False))
    os.replace(partial, target)
    return str(target.resolve())


def explain_schema_error(config: dict, schema: str | Path | dict) -> None:
    """After the schema refused `config`: raise its first complaint as a `ConfigError` naming the key
    path (`datasets.sizes.0`), the value, and what the schema allows (its enum, pattern or range,
    and its description of the key). Snakemake's own message prints the schema rule instead."""
    import jsonschema

    if not isinstance(schema, dict):
        schema = yaml.safe_load(Path(schema).read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return
    where = ".".join(str(part) for part in error.absolute_path) or "(the config)"
    allowed = {"enum": lambda v: _closest(error.instance, v) + "one of " + ", ".join(map(str, v)),
               "pattern": lambda v: f"a value matching {v}",
               "minimum": lambda v: f"a number >= {v}", "maximum": lambda v: f"a number <= {v}",
               "type": lambda v: " or ".join(_JSON_NAMES.get(t, t) for t in ([v] if isinstance(v, str) else v))}
    wanted = allowed[error.validator](error.validator_value) if error.validator in allowed else ""
    described = _described(schema, list(error.absolute_path))
    fix = "; ".join(part for part in (f"use {wanted}" if wanted else "", described) if part) or \
        "see workflow/schemas/config.schema.yaml"
    raise ConfigError(where, error.message, fix)


_JSON_NAMES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
               "array": "a list", "object": "a mapping", "null": "null"}


def _closest(value, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f"{close[0]!r} (the closest), or " if close else ""


def _described(schema: dict, path: list) -> str:
    """The schema's description of the key at `path` (or of the nearest key above it that has one)."""
    node, found = schema, ""
    for part in path:
        if not isinstance(node, dict):
            break
        node = node.get("properties", {}).get(part) if isinstance(part, str) else node.get("items")
        if isinstance(node, dict) and node.get("description"):
            found = node["description"]
    return found


def _check_method_names(config: dict) -> None:
    """report.figures names methods (or delivered variants, <method>@<size>) the registry knows."""
    figures = _block(_block(config, "report"), "figures")
    chosen = [("report.figures.methods", name) for name in figures.get("methods") or []]
    chosen += [("report.figures.loss_curve.method", _block(figures, "loss_curve").get("method"))]
    known = list(registry.METHODS)
    for where, name in chosen:
        if isinstance(name, str) and split_delivered(name)[0] not in known:
            raise _unknown(where, "method", name, known, name, "write a method of dtp_bench/methods.py")


def _check_results_folder(results: str) -> None:
    """Every output of the run goes under `results`: a file there, a file above it or a folder that cannot
    be written would otherwise fail the first job that finishes, after its work."""
    fix = "set results to a folder you can write (e.g. --config results=results/run2)"
    if os.path.lexists(results) and not os.path.isdir(results):
        raise ConfigError("results", f"{results} is a file, not a folder", f"{fix}, or move the file away")
    try:
        check_outputs([Path(results) / "table1.csv"], {}, overwrite=True)  # the checks `dtp stylize -o` makes
    except OutputError as err:
        raise ConfigError("results", f"{results}: {err.problem}", fix) from None


def _check_mirror(mirror: str | None) -> None:
    if mirror is None or is_remote(mirror):
        return
    if not Path(mirror).is_dir():
        problem = "is a file, not a folder" if Path(mirror).exists() else "does not exist"
        raise ConfigError("datasets.mirror", f"folder {mirror} {problem} (relative paths start at {Path.cwd()})",
                          "point datasets.mirror at the mirror's folder (e.g. ../shared/data), "
                          "or set it to null to fetch upstream")


def _unknown(where: str, what: str, name: str, known: list[str], said: str, fix: str) -> ConfigError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    inside = f" (in {said!r})" if said != name else ""
    return ConfigError(where, f"unknown {what} {name!r}{inside}{hint} Known: {', '.join(known)}", fix)


def _block(config, key: str) -> dict:
    value = config.get(key) if isinstance(config, dict) else None
    return value if isinstance(value, dict) else {}


def _has_string(value) -> bool:
    return isinstance(value, str) or isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value)


def _plain(value):
    """A config field's value as YAML/JSON has it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------- --config strings, before the schema
_JSON_TYPES = {str: "string", float: "number", int: "integer", bool: "boolean", type(None): "null"}


def typed_command_line(config: dict, schema: str | Path | dict) -> dict:
    """`config` with each string read as what the schema declares where the schema allows no string.

    Snakemake reads a nested `--config` value with YAML's base loader, so `datasets={limit: 2}` gives
    the string "2": here it becomes 2 (an integer), "true" True, "0.5" 0.5; and where the schema allows
    null, "null", "none", "~" and "" become None (`--config` cannot say null). A string that does not
    parse is left as it is, for the schema to refuse. `methods.<m>.params` are the methods' own
    business: their config classes read them (`dtp_core.config.typed_fields`).
    """
    if not isinstance(schema, dict):
        schema = yaml.safe_load(Path(schema).read_text())
    return _typed(copy.deepcopy(config), schema)


def _typed(value, schema):
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {key: _typed(item, properties.get(key, extra)) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item, schema.get("items")) for item in value]
    return _read(value, schema) if isinstance(value, str) else value


def _read(text: str, schema: dict):
    declared = schema.get("type")
    if declared is None:  # an enum or a const: the types of its values
        values = schema.get("enum", [schema["const"]] if "const" in schema else [])
        declared = [_JSON_TYPES.get(type(v), "") for v in values]
    kinds = [declared] if isinstance(declared, str) else list(declared)
    word = text.strip().lower()
    if "null" in kinds and word in NULL_WORDS:
        return None
    if "string" in kinds:
        return text
    if "boolean" in kinds and word in ("true", "false"):
        return word == "true"
    for kind, parse in (("integer", int), ("number", float)):
        if kind in kinds and (number := read_scalar(word, parse)) is not REFUSED:
            return number
    return text
