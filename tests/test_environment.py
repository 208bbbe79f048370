"""environment.yml (conda) names every runtime dependency that pyproject.toml names."""

import re
import tomllib

import yaml

from conftest import REPO

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_names_every_runtime_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(dep) for dep in env["dependencies"] if isinstance(dep, str)}
    pip = {_name(dep) for entry in env["dependencies"] if isinstance(entry, dict) for dep in entry.get("pip", [])}
    assert "conda-forge" in env["channels"]
    missing = [dep for dep in map(_name, project["dependencies"]) if CONDA_NAMES.get(dep, dep) not in conda | pip]
    assert missing == []
    extras = [_name(d) for d in project["optional-dependencies"]["test"] + project["optional-dependencies"]["slurm"]]
    assert [dep for dep in extras if CONDA_NAMES.get(dep, dep) not in conda | pip] == []
