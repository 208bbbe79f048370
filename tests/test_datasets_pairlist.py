"""Pair lists: photo-r's 98 pairs (PhotoNAS 19 and 26 dropped with one warning), duplicates noted,
bytes checked against the pins, read back as later stages read them; and the settings block."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, SHARED_DATA, shared
from dtp_bench.datasets import jobs, layout
from dtp_bench.datasets.definitions import load_definitions
from dtp_bench.datasets.pairlist import read_pair_list, write_pair_list
from dtp_bench.datasets.plan import dataset_names, plan_dataset
from dtp_bench.datasets.settings import DatasetsSettings
from dtp_core.errors import ConfigError, FetchError
from dtp_core.weights import sha256_file

DEFINITIONS = str(REPO / "config" / "datasets")


@pytest.fixture(scope="module")
def definitions():
    return load_definitions(DEFINITIONS)


def _settings(**values) -> DatasetsSettings:
    return DatasetsSettings.from_config({"datasets": {"definitions": DEFINITIONS, "mirror": str(SHARED_DATA), **values}})


def _fetched(plan):
    for raw, image in plan.fetches().items():
        jobs.fetch_job(image.location, raw, _settings().fetch, log=None)
    return plan


def test_photo_r_has_98_pairs_without_photonas_19_and_26(definitions):
    plan = plan_dataset("photo-r", _settings(), definitions)
    assert (len(plan.pairs), plan.defined) == (98, 100)
    assert {d.pair_id: d.missing for d in plan.dropped} == {
        "photonas-19": ("pkuanjie/StyleNAS@466422cfc9eb0cd09834f3557c8c91e4a40c672f:style/19.jpg",),
        "photonas-26": ("pkuanjie/StyleNAS@466422cfc9eb0cd09834f3557c8c91e4a40c672f:content/26.jpg",)}
    assert [len(plan_dataset(n, _settings(), definitions).pairs) for n in ("photo-r-dpst", "photo-r-photonas")] == [60, 38]
    assert len(plan_dataset("dtp-examples", _settings(), definitions).pairs) == 48


def test_dropped_pairs_give_one_warning_and_the_summary_counts_them(definitions, tmp_path, monkeypatch):
    shared("photonas/content/1.jpg")
    monkeypatch.chdir(tmp_path)
    plan = _fetched(plan_dataset("photo-r-photonas", _settings(limit=2), definitions))
    lines: list[str] = []
    write_pair_list(plan, "pairs.tsv", "pairs.json", report=lines.append)
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert len(warnings) == 1 and "photonas-19" in warnings[0] and "photonas-26" in warnings[0]
    summary = json.loads((tmp_path / "pairs.json").read_text())
    assert (summary["pairs"], summary["pairs_defined"], summary["limit"]) == (2, 40, 2)
    assert [d["pair_id"] for d in summary["dropped"]] == ["photonas-19", "photonas-26"]
    assert summary["origin"] == f"mirror {SHARED_DATA}"


def test_pair_list_rows_duplicates_and_extras(definitions, tmp_path, monkeypatch):
    shared("dpst/in/in1.png")
    monkeypatch.chdir(tmp_path)
    plan = _fetched(plan_dataset("photo-r-dpst", _settings(limit=4), definitions))
    jobs.pairs_job(plan, layout.pair_list_path(plan.name), layout.summary_path(plan.name), log="pairs.log")
    rows = read_pair_list(layout.pair_list_path("photo-r-dpst"))
    assert [r.pair_id for r in rows] == ["dpst-1", "dpst-2", "dpst-3", "dpst-4"]
    by_id = {r.pair_id: r for r in rows}
    assert "content identical to dpst-4 content" in by_id["dpst-3"].note   # DPST in3 = in4, kept but noted
    assert by_id["dpst-1"].content_sha256 == plan.pairs[0].content.location.expected.sha256
    assert by_id["dpst-1"].content_source.endswith(":examples/input/in1.png")
    assert by_id["dpst-1"].resized("content", "256x256").as_posix() == "data/resized/256x256/photo-r/dpst/input/in1.png"
    assert by_id["dpst-2"].extras["dpst_output"] == "data/raw/photo-r/dpst/final_results/best2_t_1000.png"
    assert set(by_id["dpst-2"].extras) == {"content_seg", "style_seg", "dpst_output"}


def test_a_file_changed_after_fetching_is_an_error_and_the_old_list_stays(definitions, tmp_path, monkeypatch):
    shared("dpst/in/in1.png")
    monkeypatch.chdir(tmp_path)
    plan = _fetched(plan_dataset("photo-r-dpst", _settings(limit=1), definitions))
    write_pair_list(plan, "pairs.tsv", "pairs.json", report=lambda line: None)
    before = (tmp_path / "pairs.tsv").read_text()
    content, style = plan.pairs[0].content, plan.pairs[0].style
    content.raw.write_bytes(style.raw.read_bytes())  # another valid image in its place
    now = sha256_file(content.raw)
    with pytest.raises(FetchError, match=rf"in1\.png: changed after it was fetched: it now has "
                                         rf"{content.raw.stat().st_size} bytes and sha256 {now}; the pinned file has "
                                         rf"sha256 {content.location.expected.sha256}.*Fix: delete it \(rm \S+in1\.png\)"):
        write_pair_list(plan, "pairs.tsv", "pairs.json", report=lambda line: None)
    assert (tmp_path / "pairs.tsv").read_text() == before
    # the resize stage checks the pin too, and writes nothing
    with pytest.raises(FetchError, match="changed after it was fetched"):
        jobs.resize_job(content.raw, "resized.png", "32x32", "resize.log", pinned=content.location.expected)
    assert not (tmp_path / "resized.png").exists()
    assert "ERROR: " in (tmp_path / "resize.log").read_text()


def test_unknown_dataset_names_and_settings_are_config_errors(definitions):
    with pytest.raises(ConfigError, match=r"'photo-r-nope' is not a dataset.*photo-r-dpst"):
        plan_dataset("photo-r-nope", _settings(), definitions)
    assert {"photo-r", "photo-r-dpst", "photo-r-photonas", "celeba-hq-seeded", "ffhq-dtp", "dtp-examples"} <= \
        set(dataset_names(definitions))
    with pytest.raises(ConfigError, match=r"datasets\.mirrors.*not a setting"):
        DatasetsSettings.from_config({"datasets": {"mirrors": "x"}})
    with pytest.raises(ConfigError, match=r"datasets\.fetch\.retries"):
        DatasetsSettings.from_config({"datasets": {"fetch": {"retries": 3}}})
    with pytest.raises(ConfigError, match=r"datasets\.pairing\.ffhq\.count"):
        DatasetsSettings.from_config({"datasets": {"pairing": {"ffhq": {"count": 3}}}})
    with pytest.raises(ConfigError, match="datasets.names"):
        DatasetsSettings.from_config({"datasets": {"names": "photo-r"}})
    with pytest.raises(ConfigError, match=r"datasets\.fetch\.attempts.*'3'"):
        DatasetsSettings.from_config({"datasets": {"fetch": {"attempts": "3"}}})
    with pytest.raises(ConfigError, match=r"datasets\.limit"):
        DatasetsSettings.from_config({"datasets": {"limit": 0}})


def test_defaults_are_the_papers_protocol():
    settings = DatasetsSettings.from_config(None)
    assert settings.names == ("photo-r", "celeba-hq", "ffhq", "dtp-examples")
    assert settings.sizes == ("256x256",) and settings.mirror is None and settings.limit is None
    assert DatasetsSettings.from_config({"datasets": settings.to_dict()}) == settings
