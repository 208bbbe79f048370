"""Fetching through the real code path from a loopback HTTP mirror of ../shared/data: sha256 checks,
retries with back-off, permanent errors, and nothing left that looks finished after a failure."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, shared
from datasets_loopback import serve
from dtp_bench.datasets.checksums import Expected
from dtp_bench.datasets.fetching import FetchError, fetch
from dtp_bench.datasets.jobs import fetch_job
from dtp_bench.datasets.settings import FetchSettings
from dtp_bench.datasets.workflow import DatasetsWorkflow

IN1 = "dpst/in/in1.png"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture()
def mirror():
    shared(IN1)   # skips, saying why, without the mirror
    with serve(SHARED_DATA) as server:
        yield server


def _workflow(mirror_location: str) -> DatasetsWorkflow:
    return DatasetsWorkflow.from_config({"datasets": {"mirror": mirror_location, "names": ["photo-r"],
                                                      "definitions": str(REPO / "config" / "datasets")}})


def _expected(relative: str) -> Expected:
    path = shared(relative)
    return Expected(_sha(path), path.stat().st_size)


def _no_sleep(delays: list):
    return delays.append


def test_fetch_job_over_loopback_http_checks_the_pin(mirror, tmp_path):
    workflow = _workflow(mirror.url)
    for raw in ("dpst/input/in1.png", "photonas/content/27.jpg"):   # a byte copy; a downscaled copy
        location = workflow.location("photo-r", raw)
        assert location.url.startswith(mirror.url) and location.origin == "mirror"
        destination = tmp_path / "raw" / raw
        fetch_job(location, destination, FetchSettings(attempts=1), log=tmp_path / "fetch.log")
        assert location.expected.problem(_sha(destination), destination.stat().st_size) is None
        assert "fetched" in (tmp_path / "fetch.log").read_text()
    assert workflow.location("photo-r", "photonas/content/27.jpg").expected.sha256 != \
        workflow.definitions["photo-r"].files["photonas/content/27"].sha256   # the mirror's copy is pinned apart


def test_checksum_mismatch_is_an_error_and_keeps_the_good_file(mirror, tmp_path):
    destination = tmp_path / "in1.png"
    shutil.copy(shared(IN1), destination)
    before = destination.read_bytes()
    mirror.fail(IN1, "corrupt")
    with pytest.raises(FetchError, match=r"in1\.png.*sha256 .* not the pinned") as caught:
        fetch(f"{mirror.url}/{IN1}", destination, _expected(IN1), attempts=3, sleep=_no_sleep([]))
    assert "Fix:" in str(caught.value)
    assert mirror.requests[IN1] == 1   # a wrong file is not retried
    assert destination.read_bytes() == before
    assert _leftovers(tmp_path) == ["in1.png"]


def test_truncated_download_is_retried_then_fails_leaving_nothing(mirror, tmp_path):
    mirror.fail(IN1, "truncate", "truncate", "truncate")
    delays: list[float] = []
    with pytest.raises(FetchError, match=r"failed 3 times.*(truncated|connection lost)"):
        fetch(f"{mirror.url}/{IN1}", tmp_path / "in1.png", _expected(IN1), attempts=3, backoff_s=0.5,
              sleep=_no_sleep(delays))
    assert mirror.requests[IN1] == 3 and delays == [0.5, 1.0]   # exponential back-off
    assert _leftovers(tmp_path) == []


def test_transient_failures_are_retried_with_backoff(mirror, tmp_path):
    mirror.fail(IN1, "503", "truncate")
    delays: list[float] = []
    fetched = fetch(f"{mirror.url}/{IN1}", tmp_path / "in1.png", _expected(IN1), attempts=4, backoff_s=0.25,
                    sleep=_no_sleep(delays), report=lambda line: None)
    assert fetched.attempts == 3 and delays == [0.25, 0.5]
    assert _sha(tmp_path / "in1.png") == _sha(shared(IN1))


def test_missing_file_is_a_permanent_error(mirror, tmp_path):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(f"{mirror.url}/photonas/content/26.jpg", tmp_path / "26.jpg", Expected("0" * 64), attempts=4,
              sleep=_no_sleep([]))
    assert mirror.requests["photonas/content/26.jpg"] == 1
    with pytest.raises(FetchError, match="mirror lacks"):
        fetch(str(SHARED_DATA / "photonas/content/26.jpg"), tmp_path / "26.jpg", Expected("0" * 64), attempts=4,
              sleep=_no_sleep([]))
    assert _leftovers(tmp_path) == []


def test_a_pinned_prefix_is_checked_with_the_size(mirror, tmp_path):
    full = _expected(IN1)
    prefix = Expected(full.sha256[:16], full.bytes)   # how the downscaled PhotoNAS originals are pinned upstream
    assert fetch(f"{mirror.url}/{IN1}", tmp_path / "a.png", prefix, attempts=1).sha256 == full.sha256
    with pytest.raises(FetchError, match=r"not the pinned 0{16}\.\.\."):
        fetch(f"{mirror.url}/{IN1}", tmp_path / "b.png", Expected("0" * 16, full.bytes), attempts=1)
    with pytest.raises(FetchError, match="bytes, not the pinned"):
        fetch(f"{mirror.url}/{IN1}", tmp_path / "c.png", Expected(full.sha256, full.bytes - 1), attempts=1)
    assert _leftovers(tmp_path) == ["a.png"]


def test_local_folder_mirror_goes_through_the_same_path(tmp_path):
    shared(IN1)
    location = _workflow(str(SHARED_DATA)).location("photo-r", "dpst/input/in1.png")
    fetched = fetch(location.url, tmp_path / "in1.png", location.expected, attempts=1)
    assert fetched.url.startswith("file://") and fetched.sha256 == _sha(shared(IN1))


def test_upstream_is_the_default_and_pinned_at_a_commit():
    location = DatasetsWorkflow.from_config({"datasets": {"definitions": str(REPO / "config" / "datasets")}}) \
        .location("photo-r", "dpst/input/in1.png")
    assert location.origin == "upstream"
    assert location.url == ("https://raw.githubusercontent.com/luanfujun/deep-photo-styletransfer/"
                            "4801fa2dca2e2b52847c377f451246a39eae154a/examples/input/in1.png")


def test_a_killed_download_leaves_nothing_that_looks_finished(mirror, tmp_path):
    destination = tmp_path / "in1.png"
    mirror.fail(IN1, "stall")
    code = ("import sys; from dtp_bench.datasets.fetching import fetch; from dtp_bench.datasets.checksums import "
            f"Expected; fetch(sys.argv[1], sys.argv[2], Expected({_expected(IN1).sha256!r}), timeout_s=60)")
    child = subprocess.Popen([sys.executable, "-c", code, f"{mirror.url}/{IN1}", str(destination)],
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not any(name.endswith(".part.png") and (tmp_path / name).stat().st_size > 0 for name in _leftovers(tmp_path)):
        assert child.poll() is None and time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert not destination.exists()
    assert all(name.startswith(".in1.png.") and name.endswith(".part.png") for name in _leftovers(tmp_path))
