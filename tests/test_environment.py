"""environment.yml (conda) names every runtime dependency that pyproject.toml names, each from a
channel it lists, in bioconda's strict-priority order; constraints.txt (`make lock`) pins each of
them exactly, inside pyproject.toml's ranges, with the torch pair that `make setup` installs."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
# On bioconda and on no conda-forge package (anaconda.org, checked by hand): Snakemake's authors
# keep it on bioconda. A plain name would make conda look for it on conda-forge first.
BIOCONDA_ONLY = {"snakemake", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-cluster-generic", "snakefmt"}


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


def _lock() -> dict[str, str]:
    """constraints.txt as canonical name -> exact version; any line that is not `name==version` fails."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[A-Za-z0-9._+!-]+", version), f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_pin_every_dependency_within_pyproject_ranges():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(dep) for dep in project["dependencies"] + project["optional-dependencies"]["test"]
              + project["optional-dependencies"]["slurm"]]
    pins = _lock()
    assert [str(req) for req in wanted if canonicalize_name(req.name) not in pins] == []
    assert [f"{req} vs =={pins[canonicalize_name(req.name)]}" for req in wanted
            if not req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True)] == []


def test_constraints_agree_with_the_makefile_torch_pins():
    makefile = (REPO / "Makefile").read_text()
    pinned = dict(re.findall(r"\b(torch|torchvision)==([\w.+]+)", makefile))
    assert set(pinned) == {"torch", "torchvision"}
    lock = _lock()
    assert {name: lock.get(name) for name in pinned} == pinned
