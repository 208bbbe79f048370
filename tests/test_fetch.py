"""dtp_core.fetch from a loopback HTTP server: sha256 and size checks, retries with back-off,
permanent errors with the caller's fix, unpinned files, and nothing left that looks finished
after a failure or a kill."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from dtp_core.errors import FetchError
from dtp_core.fetch import Expected, Fixes, fetch
from loopback import serve

NAME = "dpst/in/in1.png"
FIXES = Fixes(unreachable="FIX-UNREACHABLE", mismatch="FIX-MISMATCH", missing="FIX-MISSING", absent="FIX-ABSENT")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture()
def served(tmp_path):
    """A folder with one 300 kB file (larger than two read chunks, so half a body is a partial write)."""
    folder = tmp_path / "served"
    (folder / NAME).parent.mkdir(parents=True)
    (folder / NAME).write_bytes(random.Random(0).randbytes(300_000))
    return folder


@pytest.fixture()
def mirror(served):
    with serve(served) as server:
        yield server


@pytest.fixture()
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _expected(served: Path) -> Expected:
    return Expected(_sha(served / NAME), (served / NAME).stat().st_size)


def _no_sleep(delays: list):
    return delays.append


def test_checksum_mismatch_is_an_error_and_keeps_the_good_file(mirror, served, out):
    destination = out / "in1.png"
    shutil.copy(served / NAME, destination)
    before = destination.read_bytes()
    mirror.fail(NAME, "corrupt")
    with pytest.raises(FetchError, match=r"in1\.png.*sha256 .* not the pinned") as caught:
        fetch(f"{mirror.url}/{NAME}", destination, _expected(served), fixes=FIXES, attempts=3, sleep=_no_sleep([]))
    assert str(caught.value).endswith("Fix: FIX-MISMATCH")
    assert mirror.requests[NAME] == 1   # a wrong file is not retried
    assert destination.read_bytes() == before
    assert _leftovers(out) == ["in1.png"]


def test_truncated_download_is_retried_then_fails_leaving_nothing(mirror, served, out):
    mirror.fail(NAME, "truncate", "truncate", "truncate")
    delays: list[float] = []
    with pytest.raises(FetchError, match=r"failed 3 times.*(truncated|connection lost).*Fix: FIX-UNREACHABLE"):
        fetch(f"{mirror.url}/{NAME}", out / "in1.png", _expected(served), fixes=FIXES, attempts=3, backoff_s=0.5,
              sleep=_no_sleep(delays))
    assert mirror.requests[NAME] == 3 and delays == [0.5, 1.0]   # exponential back-off
    assert _leftovers(out) == []


def test_transient_failures_are_retried_with_backoff(mirror, served, out):
    mirror.fail(NAME, "503", "truncate")
    delays: list[float] = []
    fetched = fetch(f"{mirror.url}/{NAME}", out / "in1.png", _expected(served), attempts=4, backoff_s=0.25,
                    sleep=_no_sleep(delays), report=lambda line: None)
    assert fetched.attempts == 3 and delays == [0.25, 0.5]
    assert _sha(out / "in1.png") == _sha(served / NAME)


def test_missing_file_is_a_permanent_error(mirror, served, out):
    with pytest.raises(FetchError, match=r"HTTP 404.*Fix: FIX-MISSING"):
        fetch(f"{mirror.url}/photonas/content/26.jpg", out / "26.jpg", Expected("0" * 64), fixes=FIXES, attempts=4,
              sleep=_no_sleep([]))
    assert mirror.requests["photonas/content/26.jpg"] == 1
    with pytest.raises(FetchError, match=r"26\.jpg: does not exist\. Fix: FIX-ABSENT"):
        fetch(str(served / "photonas/content/26.jpg"), out / "26.jpg", Expected("0" * 64), fixes=FIXES, attempts=4,
              sleep=_no_sleep([]))
    assert _leftovers(out) == []


def test_the_default_fixes_say_what_to_do(mirror, served, out):
    with pytest.raises(FetchError, match=r"HTTP 404.*Fix: the file is not there: check its URL"):
        fetch(f"{mirror.url}/nothing.png", out / "nothing.png", Expected("0" * 64), attempts=1)
    mirror.fail(NAME, "corrupt")
    with pytest.raises(FetchError, match=r"Fix: the source does not serve the pinned file"):
        fetch(f"{mirror.url}/{NAME}", out / "in1.png", _expected(served), attempts=1)


def test_a_pinned_prefix_is_checked_with_the_size(mirror, served, out):
    full = _expected(served)
    prefix = Expected(full.sha256[:16], full.bytes)   # how the downscaled PhotoNAS originals are pinned upstream
    assert fetch(f"{mirror.url}/{NAME}", out / "a.png", prefix, attempts=1).sha256 == full.sha256
    with pytest.raises(FetchError, match=r"not the pinned 0{16}\.\.\."):
        fetch(f"{mirror.url}/{NAME}", out / "b.png", Expected("0" * 16, full.bytes), attempts=1)
    with pytest.raises(FetchError, match="bytes, not the pinned"):
        fetch(f"{mirror.url}/{NAME}", out / "c.png", Expected(full.sha256, full.bytes - 1), attempts=1)
    assert _leftovers(out) == ["a.png"]


def test_an_unpinned_file_is_fetched_and_its_sha256_returned(mirror, served, out):
    unpinned = Expected(None)
    assert not unpinned.pinned and unpinned.describe() == "sha256 not pinned"
    fetched = fetch(f"{mirror.url}/{NAME}", out / "in1.png", unpinned, attempts=1)
    assert fetched.sha256 == _sha(served / NAME) and fetched.bytes == (served / NAME).stat().st_size
    mirror.fail(NAME, "truncate", "truncate")   # the declared length still catches a short body
    with pytest.raises(FetchError, match="failed 2 times.*(truncated|connection lost)"):
        fetch(f"{mirror.url}/{NAME}", out / "again.png", unpinned, attempts=2, sleep=_no_sleep([]))
    with pytest.raises(FetchError, match="bytes, not the pinned"):   # a published size alone is checked
        fetch(f"{mirror.url}/{NAME}", out / "sized.png", Expected(None, fetched.bytes - 1), attempts=1)
    assert _leftovers(out) == ["in1.png"]


def test_a_local_path_goes_through_the_same_path(served, out):
    fetched = fetch(str(served / NAME), out / "in1.png", _expected(served), attempts=1)
    assert fetched.url.startswith("file://") and fetched.sha256 == _sha(served / NAME)


def test_a_killed_download_leaves_nothing_that_looks_finished(mirror, served, out):
    destination = out / "in1.png"
    mirror.fail(NAME, "stall")
    code = ("import sys; from dtp_core.fetch import Expected, fetch; "
            f"fetch(sys.argv[1], sys.argv[2], Expected({_expected(served).sha256!r}), timeout_s=60)")
    child = subprocess.Popen([sys.executable, "-c", code, f"{mirror.url}/{NAME}", str(destination)],
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not any(name.endswith(".part.png") and (out / name).stat().st_size > 0 for name in _leftovers(out)):
        assert child.poll() is None and time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert not destination.exists()
    assert all(name.startswith(".in1.png.") and name.endswith(".part.png") for name in _leftovers(out))
