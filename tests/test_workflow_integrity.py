"""Integrity end to end (docs/refusals.md): a fetched file replaced by another valid image after the
fetch stops every stage that would read it (resize, the pair list, the stylisation that reads DPST's
output directly), with its size and sha256 beside the pin and how to fetch it anew; the results
already there stay as they were; following the fix heals the run. A real Snakemake run in a sandbox:
one pair of photo-r at 32x32, identity and DPST's precomputed output, SSIM only."""

from __future__ import annotations

import json

import pytest

from conftest import shared
from workflow_sandbox import make_workdir, run_snakemake

RAW = "data/raw/photo-r/dpst"
CONTENT, DPST_OUTPUT = f"{RAW}/input/in1.png", f"{RAW}/final_results/best1_t_1000.png"
SIDECARS = ("results/outputs/photo-r/identity/dpst-1.json", "results/outputs/photo-r/dpst/dpst-1.json")


@pytest.mark.slow
def test_a_replaced_raw_file_stops_the_stages_that_read_it_and_loses_nothing(tmp_path):
    make_workdir(tmp_path, shared("."), {
        "methods": {"identity": {}, "dpst": {}},
        "datasets": {"names": ["photo-r"], "limit": 1, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "metrics": {"enabled": ["ssim"]},
    })
    first = run_snakemake(tmp_path, "--cores", "2", "--", "results/table1.csv")
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    before = {path: (tmp_path / path).read_bytes() for path in SIDECARS}

    other_image = (tmp_path / f"{RAW}/style/tar1.png").read_bytes()  # valid, and not the pinned file
    for path in (CONTENT, DPST_OUTPUT):
        (tmp_path / path).write_bytes(other_image)
    second = run_snakemake(tmp_path, "--cores", "2", "--keep-going", "--", "results/table1.csv")
    output = second.stdout + second.stderr
    (tmp_path / "replaced-run.log").write_text(output)
    assert second.returncode != 0, output[-4000:]
    for path in (CONTENT, DPST_OUTPUT):
        assert f"{path}: changed after it was fetched: it now has {len(other_image)} bytes" in output
        assert f"Fix: delete it (rm {path}) and run again" in output
    assert {path: (tmp_path / path).read_bytes() for path in SIDECARS} == before  # nothing consumed them

    for path in (CONTENT, DPST_OUTPUT):
        (tmp_path / path).unlink()  # the fix the message gives
    third = run_snakemake(tmp_path, "--cores", "2", "--", "results/table1.csv", CONTENT, DPST_OUTPUT)
    assert third.returncode == 0, (third.stdout + third.stderr)[-4000:]
    assert "localrule datasets_fetch" in third.stderr  # fetched anew; then Snakemake's mtime rule redoes
    assert all((tmp_path / path).read_bytes() != other_image for path in (CONTENT, DPST_OUTPUT))
    assert all(json.loads((tmp_path / path).read_text())["status"] == "ok" for path in SIDECARS)
