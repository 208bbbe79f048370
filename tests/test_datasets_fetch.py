"""The datasets stage's fetching from a loopback HTTP mirror of ../shared/data: the pins it checks,
where files come from, and its failures worded for its settings (the downloader itself, with its
retries and atomic writes: tests/test_fetch.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, shared
from dtp_bench.datasets.jobs import fetch_job
from dtp_bench.datasets.settings import FetchSettings
from dtp_bench.datasets.sources import FIXES
from dtp_bench.datasets.workflow import DatasetsWorkflow
from dtp_core.errors import FetchError
from dtp_core.fetch import Expected, fetch
from loopback import serve

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


def test_the_stages_failures_name_the_file_and_its_own_fix(mirror, tmp_path):
    location = _workflow(mirror.url).location("photo-r", "dpst/input/in1.png")
    log = tmp_path / "fetch.log"
    mirror.fail(IN1, "corrupt")
    with pytest.raises(FetchError, match=r"in1\.png: has sha256 .* not the pinned .*Fix: the source does not serve "
                                         r"the pinned file: point datasets\.mirror at a faithful copy"):
        fetch_job(location, tmp_path / "in1.png", FetchSettings(attempts=3), log=log)
    assert mirror.requests[IN1] == 1 and "ERROR: " in log.read_text()
    mirror.fail(IN1, "503")
    with pytest.raises(FetchError, match=r"failed 1 times.*HTTP 503.*Fix: check the connection or the mirror "
                                         r"\(datasets\.mirror\)"):
        fetch_job(location, tmp_path / "in1.png", FetchSettings(attempts=1), log=log)
    with pytest.raises(FetchError, match=r"26\.jpg: answers HTTP 404.*Fix: the file is not there: check the "
                                         r"definition's url, or the mirror's layout"):
        fetch(f"{mirror.url}/photonas/content/26.jpg", tmp_path / "26.jpg", Expected("0" * 64), fixes=FIXES,
              attempts=4, sleep=_no_sleep([]))
    assert mirror.requests["photonas/content/26.jpg"] == 1
    with pytest.raises(FetchError, match="mirror lacks"):
        fetch(str(SHARED_DATA / "photonas/content/26.jpg"), tmp_path / "26.jpg", Expected("0" * 64), fixes=FIXES,
              attempts=4, sleep=_no_sleep([]))
    assert _leftovers(tmp_path) == ["fetch.log"]


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
