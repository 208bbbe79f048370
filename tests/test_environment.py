"""environment.yml (conda) names every runtime dependency that pyproject.toml names, each from a
channel it lists, in bioconda's strict-priority order."""

import re
import tomllib

import yaml

from conftest import REPO

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
# On bioconda and on no conda-forge package (anaconda.org, checked by hand): Snakemake's authors
# keep it on bioconda. A plain name would make conda look for it on conda-forge first.
BIOCONDA_ONLY = {"snakemake", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-cluster-generic"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.split("::")[-1], maxsplit=1)[0].strip().lower()


def _environment() -> tuple[dict, dict[str, str | None], set[str]]:
    """The parsed file; conda package -> the channel its spec names (None: the channel list's);
    the pip section's names."""
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(dep): (dep.split("::")[0] if "::" in dep else None)
             for dep in env["dependencies"] if isinstance(dep, str)}
    pip = {_name(dep) for entry in env["dependencies"] if isinstance(entry, dict) for dep in entry.get("pip", [])}
    return env, conda, pip


def test_environment_yml_names_every_runtime_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    _, conda, pip = _environment()
    named = set(conda) | pip
    missing = [dep for dep in map(_name, project["dependencies"]) if CONDA_NAMES.get(dep, dep) not in named]
    assert missing == []
    extras = [_name(d) for d in project["optional-dependencies"]["test"] + project["optional-dependencies"]["slurm"]]
    assert [dep for dep in extras if CONDA_NAMES.get(dep, dep) not in named] == []


def test_environment_yml_channels_are_the_ones_packages_come_from():
    env, conda, _ = _environment()
    # conda-forge before bioconda: with strict priority a package on both comes from conda-forge.
    assert env["channels"] == ["conda-forge", "bioconda"]
    assert {channel for channel in conda.values() if channel} <= set(env["channels"])
    assert {name: conda[name] for name in BIOCONDA_ONLY if name in conda} == dict.fromkeys(BIOCONDA_ONLY, "bioconda")
