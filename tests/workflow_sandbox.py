"""A throw-away working folder for real Snakemake runs of the project's workflow in tests.

The folder gets `config/config.yaml` = the paper config + the quick config + the test's changes,
and links to the rest of `config/` (the dataset definitions); results land in the folder, never in
the checkout. Run Snakemake in it with `snakemake_command(...)`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from snakemake.utils import update_config

REPO = Path(__file__).resolve().parents[1]


def make_workdir(workdir: Path, mirror: Path, changes: dict) -> dict:
    (workdir / "config").mkdir(parents=True)
    for entry in (REPO / "config").iterdir():
        if entry.name != "config.yaml":
            (workdir / "config" / entry.name).symlink_to(entry)
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config/quick.yaml").read_text()))
    config["datasets"]["mirror"] = str(mirror)
    config["results"] = "results"  # the sandbox is a folder of its own: the tests read results/ there
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict) and key != "methods":
            config[key].update(value)
        else:
            config[key] = value
    write_config(workdir, config)
    return config


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config))


def snakemake_command(*args: str) -> list[str]:
    """The workflow run from the sandbox, with the profile Snakemake applies by itself in the
    repository root (profiles/default) unless the test names another workflow profile."""
    profile = [] if "--workflow-profile" in args else ["--workflow-profile", str(REPO / "profiles/default")]
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow/Snakefile"), *profile, *args]


def run_snakemake(workdir: Path, *args: str, timeout: int = 1200, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_command(*args), cwd=workdir, capture_output=True, text=True, timeout=timeout,
                          env=env)
