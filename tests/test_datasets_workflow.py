"""The datasets rules under Snakemake on a small subset, fetching from a loopback HTTP mirror: the
first run builds the pair lists and resized images, a second run does nothing, and deleting one
resized image rebuilds only that one."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from conftest import REPO, SHARED_DATA, shared
from loopback import serve

SNAKEFILE = REPO / "tests" / "datasets_workflow" / "Snakefile"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def _snakemake(workdir: Path, *args: str) -> str:
    result = subprocess.run(
        [str(SNAKEMAKE), "-s", str(SNAKEFILE), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
         "--cores", "2", "--force-use-threads", *args, "--", "datasets"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _jobs(output: str) -> dict[str, int]:
    return {name: int(count) for name, count in re.findall(r"^(datasets\w*)\s+(\d+)$", output, flags=re.M)}


@pytest.mark.slow
def test_small_subset_builds_once_and_rebuilds_only_what_is_missing(tmp_path):
    shared("ffhq/daps/00000.png")
    with serve(SHARED_DATA) as mirror:
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"datasets": {
            "names": ["ffhq", "photo-r-photonas"], "limit": 2, "mirror": mirror.url,
            "definitions": str(REPO / "config" / "datasets")}}))
        first = _snakemake(tmp_path)
        assert _jobs(first) == {"datasets_fetch": 8, "datasets_resize": 8, "datasets_pairs": 2, "datasets": 1}
        assert "photonas-19" in first and "WARNING" in first   # the one warning about the dropped pairs
        assert sum(mirror.requests.values()) == 8

        for name in ("ffhq", "photo-r-photonas"):
            with open(tmp_path / "data" / "pairs" / f"{name}.tsv", newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            assert len(rows) == 2
            for row in rows:
                with Image.open(tmp_path / "data" / "resized" / "256x256" / f"{row['content']}.png") as image:
                    assert image.size == (256, 256) and image.mode == "RGB"

        resized = sorted((tmp_path / "data" / "resized").rglob("*.png"))
        stamps = {path: path.stat().st_mtime_ns for path in resized}
        assert "Nothing to be done" in _snakemake(tmp_path)

        victim = resized[3]
        victim.unlink()
        again = _snakemake(tmp_path)
        assert _jobs(again) == {"datasets_resize": 1, "datasets": 1}
        assert victim.is_file()
        assert all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items() if path != victim)
        assert sum(mirror.requests.values()) == 8   # nothing fetched again
