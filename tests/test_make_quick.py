"""`make quick` / `make paper` name a missing local mirror before any setup, and let through what
the workflow takes as a mirror: a folder, an http(s) URL, or null for upstream.

PYTHON=false and a VENV under tmp_path make the setup step fail at once once the check passes, so
these tests never build a venv or start the benchmark."""

import os
import shutil
import subprocess

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(target: str, mirror: str, venv) -> subprocess.CompletedProcess:
    # Not the flags of a `make test` around this run (-j would start the setup beside the check).
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), target, f"MIRROR={mirror}",
                           "PYTHON=false", f"VENV={venv}"], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")})


@pytest.mark.parametrize("target", ["quick", "paper"])
def test_a_missing_mirror_is_named_with_what_it_is_and_the_fixes(target, tmp_path):
    missing = tmp_path / "no-mirror"
    run = _make(target, str(missing), tmp_path / "venv")
    assert run.returncode != 0
    said = " ".join(run.stderr.split())
    assert f"the benchmark images' mirror {missing} is not a folder" in said
    assert "local, read-only copy of the public benchmark photos and faces" in said and "README.md" in said
    assert f"Fix: put the mirror at {missing}; or name yours: make {target} MIRROR=<folder or http(s) URL>;" in said
    assert f"make {target} MIRROR=null" in said
    assert not (tmp_path / "venv").exists()  # said before any setup


@pytest.mark.parametrize("mirror", ["null", "", "https://example.org/mirror", "FOLDER"])
def test_what_the_workflow_takes_as_a_mirror_goes_on_to_setup(mirror, tmp_path):
    run = _make("quick", str(tmp_path) if mirror == "FOLDER" else mirror, tmp_path / "venv")
    assert "is not a folder" not in run.stderr
    assert f"false -m venv {tmp_path / 'venv'}" in run.stdout  # the setup's first step: the check passed
