"""config/README.md says what every config key does, and cannot drift from the schema: its key
table is the one workflow/scripts/config_readme.py makes from workflow/schemas/config.schema.yaml,
and (checked here on the schema directly, not through that script) every top-level key, every
key of `datasets:` and of a `methods:` entry, every method name and every profile appear in it."""

import importlib.util

import yaml

from workflow_sandbox import REPO

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
README = (REPO / "config/README.md").read_text()


def _generator():
    spec = importlib.util.spec_from_file_location("config_readme", REPO / "workflow/scripts/config_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _paths(node: dict, prefix: str = "") -> list[str]:
    paths = []
    for name, child in (node.get("properties") or {}).items():
        paths += [f"{prefix}{name}", *_paths(child, f"{prefix}{name}.")]
    return paths


def test_the_key_table_is_the_schema_s():
    generator = _generator()
    assert generator.current_section(README) == generator.section(SCHEMA), \
        "config/README.md's key table is out of date. Fix: python workflow/scripts/config_readme.py"


def test_every_top_level_datasets_and_methods_key_is_described():
    properties = SCHEMA["properties"]
    keys = [*properties, *_paths(properties["datasets"], "datasets.")]
    keys += [f"datasets.pairing.<dataset>.{k}" for k in properties["datasets"]["properties"]["pairing"]
             ["additionalProperties"]["properties"]]
    keys += [f"methods.<method>.{k}" for k in properties["methods"]["additionalProperties"]["properties"]]
    assert [key for key in keys if f"`{key}`" not in README] == []
    rows = {line.split("`")[1]: line for line in README.splitlines() if line.startswith("| `")}
    # ... each with what it does: a schema description, which the table's last column carries
    assert [key for key in keys if rows[key].rstrip().endswith("|  |")] == []
    assert [name for name in properties["methods"]["propertyNames"]["enum"] if name not in README] == []


def test_every_profile_is_there():
    profiles = sorted(p.name for p in (REPO / "profiles").iterdir() if (p / "config.yaml").is_file())
    assert profiles and [name for name in profiles if f"`profiles/{name}`" not in README] == []
