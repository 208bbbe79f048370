"""`python -m dtp_bench.datasets`: the datasets stage without Snakemake (same code as its rules).

    python -m dtp_bench.datasets list  [--config config/config.yaml] [--mirror ../shared/data]
    python -m dtp_bench.datasets build photo-r ffhq --mirror ../shared/data [--size 256x256] [--limit N]

`build` fetches what is missing, resizes what is missing and writes each pair list; files already
there are kept (Snakemake, unlike this loop, also notices files that are out of date).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from dtp_core.errors import DTPError

from . import jobs, layout
from .workflow import DatasetsWorkflow


def _workflow(args) -> DatasetsWorkflow:
    config = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
    block = dict((config or {}).get("datasets") or {})
    for key in ("mirror", "limit", "definitions"):
        if getattr(args, key, None) is not None:
            block[key] = getattr(args, key)
    if getattr(args, "size", None):
        block["sizes"] = args.size
    if getattr(args, "names", None):
        block["names"] = args.names
    return DatasetsWorkflow.from_config({"datasets": block})


def build(workflow: DatasetsWorkflow) -> None:
    for name in workflow.names:
        plan = workflow.plan(name)
        for raw, image in plan.fetches().items():
            if not raw.is_file():
                jobs.fetch_job(image.location, raw, workflow.settings.fetch, log=None)
        for token in workflow.settings.sizes:
            for key, image in plan.images().items():
                target = layout.resized_path(token, key)
                if not target.is_file():
                    jobs.resize_job(image.raw, target, token, log=None)
        jobs.pairs_job(plan, layout.pair_list_path(name), layout.summary_path(name), log=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dtp_bench.datasets", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a workflow config YAML whose `datasets:` block to use")
    parser.add_argument("--mirror", help="a mirror folder or http(s) base URL (default: upstream)")
    parser.add_argument("--definitions", help="the folder of dataset definitions (default: config/datasets)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the datasets and their pair counts")
    build_parser = commands.add_parser("build", help="fetch, resize and write the pair lists")
    build_parser.add_argument("names", nargs="*", help="datasets (default: the config's)")
    build_parser.add_argument("--size", action="append", help="e.g. 256x256 (default) or long512; repeatable")
    build_parser.add_argument("--limit", type=int, help="only the first N pairs of each dataset")
    args = parser.parse_args(argv)
    try:
        workflow = _workflow(args)
        if args.command == "list":
            for name in workflow.names:
                plan = workflow.plan(name)
                print(f"{name}\t{len(plan.pairs)} pairs ({plan.defined} defined, {len(plan.dropped)} dropped)\t"
                      f"{plan.definition.title}")
        else:
            build(workflow)
    except DTPError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
