"""The user's own pairs as a dataset (`datasets.custom`, dtp_bench/datasets/custom.py): refused at
parse time with one line naming the file and the fix (a dry run), and run through every stage (one
tiny real run). The images are scikit-image's public-domain samples, written in tmp_path.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image
from skimage import data

from dtp_bench.datasets.custom import custom_pairs
from dtp_core.errors import ConfigError
from workflow_sandbox import REPO, run_snakemake

SAMPLES = {"cat": data.chelsea, "rocket": data.rocket, "astronaut": data.astronaut, "coffee": data.coffee}


def _save(path, sample, size=48):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(SAMPLES[sample]())).convert("RGB").resize((size, size)).save(path)


def _folder(root):
    _save(root / "content/a.png", "cat")
    _save(root / "style/a.jpg", "rocket")
    _save(root / "content/b.png", "astronaut")
    _save(root / "style/b.png", "coffee")
    return root


def test_a_folder_and_a_tsv_give_pairs(tmp_path):
    folder = _folder(tmp_path / "mine")
    assert [p[0] for p in custom_pairs("mine", {"folder": str(folder)})] == ["a", "b"]
    (tmp_path / "pairs.tsv").write_text("content\tstyle\nmine/content/a.png\tmine/style/b.png\n")
    [(pair_id, content, style)] = custom_pairs("t", {"pairs": str(tmp_path / "pairs.tsv")})
    assert pair_id == "a__b" and content == folder / "content/a.png" and style == folder / "style/b.png"


@pytest.mark.parametrize("breakage, named", [
    (lambda root: (root / "style/b.png").unlink(), "content/b.png has no style image"),
    (lambda root: _save(root / "content/a.jpg", "coffee"), "have the same name"),
    (lambda root: (root / "style/b.png").write_bytes(b"not an image"), "style/b.png is not a readable image"),
    (lambda root: _save(root / "style/b.png", "coffee", size=8), "smaller than 16 px"),
    (lambda root: __import__("shutil").rmtree(root / "style"), "style is not a folder"),
])
def test_bad_folders_are_refused_naming_the_file(tmp_path, breakage, named):
    folder = _folder(tmp_path / "mine")
    breakage(folder)
    with pytest.raises(ConfigError, match="datasets.custom.mine.folder") as raised:
        custom_pairs("mine", {"folder": str(folder)})
    assert named in str(raised.value) and "Fix:" in str(raised.value)


def _workdir(tmp_path, custom: dict) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    config = {
        "results": "results", "device": "cpu", "threads_per_job": 1, "benchmark_datasets": ["mine"],
        "datasets": {"names": ["dtp-examples"], "definitions": str(REPO / "config/datasets"),
                     "mirror": str(REPO.parent / "shared/data"), "sizes": ["32x32"], "custom": custom},
        "methods": {"identity": {}, "reinhard": {}},
        "metrics": {"enabled": ["ssim", "histogram"]},
        "report": {"figures": {"loss_curve": {"method": "identity", "pair": ""}}},
    }
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(config))


def test_a_dry_run_refuses_unmatched_names_before_any_job(tmp_path):
    folder = _folder(tmp_path / "mine")
    (folder / "style/b.png").rename(folder / "style/c.png")
    _workdir(tmp_path, {"mine": {"folder": str(folder)}})
    run = run_snakemake(tmp_path, "--cores", "1", "--dry-run")
    assert run.returncode != 0
    assert "datasets.custom.mine.folder" in run.stdout + run.stderr and "content/b.png has no style" in run.stdout


@pytest.mark.slow
def test_the_workflow_runs_the_users_pairs(tmp_path):
    _workdir(tmp_path, {"mine": {"folder": str(_folder(tmp_path / "mine"))}})
    run = run_snakemake(tmp_path, "--cores", "2", "--", "results/table_full.csv")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    for method in ("identity", "reinhard"):
        for pair in ("a", "b"):
            facts = json.loads((tmp_path / f"results/outputs/mine/{method}/{pair}.json").read_text())
            assert facts["status"] == "ok"
            assert (tmp_path / f"results/metrics/mine/{method}/{pair}.json").is_file()
    assert Image.open(tmp_path / "data/resized/32x32/mine/content/a.png").size == (32, 32)
    assert "mine" in (tmp_path / "results/table_full.csv").read_text()
