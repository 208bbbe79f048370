"""A method from outside the repository (dtp_bench/plugins.py, docs/extending.md): the example
package tests/data/plugin_method, pip-installed into a venv of its own, is in the registry and the
label table, accepted by the config check (and suggested for a misspelling), and run by the workflow
through every stage into table1.csv and table_full.csv, with no edit to this repository.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, shared
from test_install import make_venv, pip_install

pytestmark = pytest.mark.slow

PLUGIN = REPO / "tests/data/plugin_method"


@pytest.fixture(scope="module")
def plugin_python(tmp_path_factory):
    """The python of a venv that sees this environment's packages and the checkout, with the example
    plugin installed (non-editable, built from a copy so the checkout gets no build/)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "source"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv, _ = make_venv(root / "venv", REPO)
    pip_install(venv, source)
    return venv / "bin/python"


def _python(python, code: str, cwd) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_plugin_is_registered_and_labelled_without_torch(plugin_python, tmp_path):
    probe = ("import json, sys; from dtp_bench import method_labels as m; "
             "light = 'torch' not in sys.modules; from dtp_bench import methods; "
             "spec = methods.get('mean_colour'); "
             "print(json.dumps([light, m.method_info('mean_colour'), spec.needs_gpu, "
             "spec.make_config({'blend': 0.25}).blend, list(methods.METHODS)[-1]]))")
    light, info, needs_gpu, blend, last = json.loads(_python(plugin_python, probe, tmp_path))
    assert light, "reading the label table imported torch"
    assert info["label"] == "Mean colour (plugin)" and info["kind"] == "baseline"
    assert (needs_gpu, blend, last) == (False, 0.25, "mean_colour")


def _workdir(tmp_path, methods: dict) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    config = {
        "results": "results", "device": "cpu", "threads_per_job": 1, "benchmark_datasets": ["photo-r"],
        "datasets": {"names": ["photo-r"], "definitions": str(REPO / "config/datasets"),
                     "mirror": str(shared("")), "sizes": ["32x32"], "limit": 2},
        "methods": methods,
        "metrics": {"enabled": ["ssim", "histogram"]},
        "report": {"figures": {"loss_curve": {"method": "identity", "pair": ""}}},
    }
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(config))


def _snakemake(python, workdir, *args):
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    command = [str(python), "-m", "snakemake", "--snakefile", str(REPO / "workflow/Snakefile"),
               "--workflow-profile", str(REPO / "profiles/default"), "--cores", "2", *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def test_a_misspelt_plugin_name_is_refused_with_the_closest(plugin_python, tmp_path):
    _workdir(tmp_path, {"identity": {}, "mean_colur": {}})
    run = _snakemake(plugin_python, tmp_path, "--dry-run")
    assert run.returncode != 0
    assert "use 'mean_colour' (the closest)" in run.stdout + run.stderr


def test_the_workflow_runs_the_plugin_into_the_tables(plugin_python, tmp_path):
    _workdir(tmp_path, {"identity": {}, "mean_colour": {"params": {"blend": 0.5}}})
    run = _snakemake(plugin_python, tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    outputs = sorted((tmp_path / "results/outputs/photo-r/mean_colour").glob("*.json"))
    assert len(outputs) == 2
    for sidecar in outputs:
        facts = json.loads(sidecar.read_text())
        assert facts["status"] == "ok" and facts["method_kind"] == "baseline", facts
        assert sidecar.with_suffix(".png").is_file()
        metrics = json.loads((tmp_path / "results/metrics/photo-r/mean_colour" / sidecar.name).read_text())
        assert "ssim" in json.dumps(metrics)
    [row] = [row for row in csv.reader((tmp_path / "results/table1.csv").open()) if row[0] == "mean_colour"]
    assert row[1:3] == ["Mean colour (plugin)", "baseline"], row
    rows = list(csv.DictReader((tmp_path / "results/table_full.csv").open()))
    assert any("mean_colour" in row.values() for row in rows)
    assert (tmp_path / "results/figures/scores.png").is_file()
