"""The "Every key" section of config/README.md, made from workflow/schemas/config.schema.yaml, so
that the two cannot drift apart (tests/test_workflow_config_readme.py compares them):

    python workflow/scripts/config_readme.py           # rewrite the section from the schema
    python workflow/scripts/config_readme.py --check   # exit 1 if the section is out of date

Not a Snakemake script: nothing in the workflow runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
README = REPO / "config" / "README.md"
BEGIN = "<!-- every key: generated from workflow/schemas/config.schema.yaml by workflow/scripts/config_readme.py -->"
END = "<!-- end of every key -->"


def key_rows(schema: dict, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, type, default, description) for every key the schema declares, depth first.
    An object of named entries (methods, datasets.pairing) shows its entries' keys under
    `<name>`, e.g. `methods.<method>.params`."""
    rows = []
    for name, node in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        rows.append((path, _type(node), _default(node), _description(node)))
        rows += key_rows(node, f"{path}.")
        entries = node.get("additionalProperties")
        if isinstance(entries, dict) and entries.get("properties"):
            placeholder = "<method>" if name == "methods" else "<dataset>"
            rows += key_rows(entries, f"{path}.{placeholder}.")
    return rows


def _type(node: dict) -> str:
    if "enum" in node:
        return "one of " + ", ".join(map(str, node["enum"]))
    if "const" in node:
        return f"always {node['const']}"
    kinds = node.get("type", "")
    kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
    items = node.get("items") or {}
    if kinds == "array" and "enum" in items:
        return "list of " + ", ".join(items["enum"])
    if kinds == "array" and items.get("type") == "string":
        return "list of strings"
    if kinds == "object" and "enum" not in node.get("propertyNames", {"enum": ()}):
        return "map: name ->"
    if kinds == "object" and "propertyNames" in node:
        return "map: " + ", ".join(node["propertyNames"]["enum"]) + " ->"
    return kinds


def _default(node: dict) -> str:
    return json.dumps(node["default"]) if "default" in node else ""


def _description(node: dict) -> str:
    return " ".join(str(node.get("description", "")).split())


def section(schema: dict) -> str:
    lines = [BEGIN, "", "| key | type | default | what it does |", "|---|---|---|---|"]
    for path, kind, default, description in key_rows(schema):
        cells = [f"`{path}`", kind, f"`{default}`" if default else "", description]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join([*lines, "", END])


def current_section(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the section is up to date")
    args = parser.parse_args(argv)
    text = README.read_text()
    wanted = section(yaml.safe_load(SCHEMA.read_text()))
    if current_section(text) == wanted:
        return 0
    if args.check:
        print(f"{README}: its key table differs from {SCHEMA}. Fix: python {Path(__file__).relative_to(REPO)}",
              file=sys.stderr)
        return 1
    README.write_text(text.replace(current_section(text), wanted))
    print(f"{README}: key table rewritten from {SCHEMA.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
