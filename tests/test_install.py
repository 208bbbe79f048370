"""A non-editable install works away from the checkout: `pip install <project>` into a fresh venv,
then, from a folder outside the repository, `dtp --version`, one tiny real `dtp stylize`, and the
checkpoint catalogue read as package data from the installed copy.

The fresh venv sees this environment's packages (torch, ...) through a .pth file, so nothing big is
downloaded; `venv --system-site-packages` would not do: from inside a venv it exposes the base
interpreter's packages, not this venv's. Lines of a .pth only add folders, so the checkout's
editable-install hook (itself a .pth in this environment) never runs there.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from packaging.version import Version
from PIL import Image
from skimage import data

from conftest import REPO

pytestmark = pytest.mark.slow

# What pyproject.toml's build reads: its packages, readme and license file. Copied, not built in
# place, so the checkout gets no build/ or *.egg-info and no stale build/ of the checkout gets in.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "dtp_core", "baselines", "dtp_bench")


def _run(args: list, cwd: Path, timeout: int = 600) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def make_venv(venv: Path, *extra_paths: Path) -> tuple[Path, Path]:
    """A fresh venv (no pip of its own: `python -m pip` is this environment's) that sees this
    environment's packages, and `extra_paths`, through a .pth file. Returns (venv, its site-packages)."""
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv.parent)
    site_packages = Path(_run([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              cwd=venv.parent).strip())
    paths = [*site.getsitepackages(), *map(str, extra_paths)]
    (site_packages / "_this_environment.pth").write_text("\n".join(paths) + "\n")
    return venv, site_packages


def pip_install(venv: Path, source: Path) -> None:
    """A non-editable `pip install --no-deps` of `source` into `venv`."""
    # Without isolation the build uses this environment's setuptools, if new enough for the PEP 639
    # license fields; otherwise pip fetches one into an isolated build environment.
    new_enough = Version(importlib.metadata.version("setuptools")) >= Version("77")
    _run([venv / "bin/python", "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
          *(["--no-build-isolation"] if new_enough else []), source], cwd=venv.parent)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(venv, its site-packages) holding a non-editable install of this working tree."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    venv, site_packages = make_venv(root / "venv")
    pip_install(venv, source)
    return venv, site_packages


def test_installed_copy_is_the_one_imported_and_reads_its_catalogue(installed, tmp_path):
    venv, site_packages = installed
    probe = ("import json, dtp_core, baselines.checkpoints as c; "
             "print(json.dumps([dtp_core.__file__, c.__file__, str(c.CATALOGUE), sorted(c.catalogue('wct2'))]))")
    files = json.loads(_run([venv / "bin/python", "-c", probe], cwd=tmp_path))
    for path in files[:3]:
        assert Path(path).resolve().is_relative_to(site_packages.resolve()), path
    assert files[3] == ["wave_decoder_cat5_l4.pth", "wave_encoder_cat5_l4.pth"]


def test_installed_dtp_runs_outside_the_checkout(installed, tmp_path):
    venv, _ = installed
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"dtp (dtp-bench) {version}" in _run([venv / "bin/dtp", "--version"], cwd=tmp_path)

    # Public-domain samples bundled with scikit-image, shrunk: the run is about the install, not DTP.
    for name, image in (("content.png", data.chelsea()), ("style.png", data.rocket())):
        Image.fromarray(np.asarray(image)).resize((48, 48)).save(tmp_path / name)
    _run([venv / "bin/dtp", "stylize", "content.png", "style.png", "-o", "out.png",
          "--size", "32", "--iterations", "2", "--device", "cpu"], cwd=tmp_path)
    assert (tmp_path / "out.png").is_file()
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["versions"]["dtp-bench"] == version
