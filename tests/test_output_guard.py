"""Nothing overwritten (docs/refusals.md, "Runs never share outputs"): a stylize sidecar records the
inputs and parameters it was made with, and a run that would replace a finished output made otherwise
is refused before any job, naming the output and what changed. The workflow side (a real dry run and
a real run in another folder) is in tests/test_workflow_reruns.py."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
from PIL import Image

from dtp_bench.output_guard import SHOWN, PlannedOutput, differences, refuse_replacing
from dtp_bench.stylize_job import main as stylize_job
from dtp_core.errors import ConfigError


@pytest.fixture
def made(tmp_path, monkeypatch):
    """A real Reinhard job (space: cielab) on a random 32x32 pair, run from tmp_path with relative paths
    as the workflow runs it: (its planned output as the workflow would describe it, the sidecar)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for name in ("content", "style"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(f"{name}.png")
    on_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        assert stylize_job(["--method", "reinhard", "--content", "content.png", "--style", "style.png",
                            "--out", "out/1.png", "--params", '{"space": "cielab"}', "--device", "cpu"]) == 0
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)
    sidecar = json.loads((tmp_path / "out/1.json").read_text())
    return PlannedOutput("out/1.json", "content.png", "style.png", {"space": "cielab"}), sidecar


def test_a_sidecar_records_its_inputs_and_the_parameters_it_was_given(made):
    _, sidecar = made
    assert sidecar["status"] == "ok"
    assert (sidecar["content_file"], sidecar["style_file"], sidecar["job_params"]) == \
           ("content.png", "style.png", {"space": "cielab"})


def test_the_same_job_again_is_no_clash_and_paths_compare_as_paths(made):
    planned, _ = made
    assert differences(planned) == []
    assert differences(PlannedOutput(planned.sidecar, "./content.png", "sub/../style.png", planned.params)) == []


def test_other_parameters_or_inputs_are_named(made):
    planned, _ = made
    assert differences(PlannedOutput(planned.sidecar, planned.content, planned.style, {})) == \
           ["space: cielab -> (default)"]
    assert differences(PlannedOutput(planned.sidecar, "elsewhere.png", planned.style, planned.params)) == \
           ["input content.png -> elsewhere.png"]


def test_another_size_is_named_by_the_folders_that_differ(tmp_path):
    path = tmp_path / "1.json"
    path.write_text(json.dumps({"status": "ok", "content_file": "data/resized/32x32/p/in/1.png",
                                "style_file": "data/resized/32x32/p/tar/1.png", "job_params": {"iterations": 9}}))
    planned = PlannedOutput(str(path), "data/resized/48x48/p/in/1.png", "data/resized/48x48/p/tar/1.png",
                            {"iterations": 5})
    assert differences(planned) == ["inputs 32x32 -> 48x48", "iterations: 9 -> 5"]


@pytest.mark.parametrize("sidecar", [None, "{not json", {"status": "failed", "reason": "x", "job_params": {}},
                                     {"status": "unavailable", "reason": "x", "job_params": {}},
                                     {"status": "ok", "content_file": "content.png"}])  # last: before job_params
def test_only_a_finished_output_that_says_how_it_was_made_is_guarded(tmp_path, sidecar):
    path = tmp_path / "1.json"
    if sidecar is not None:
        path.write_text(sidecar if isinstance(sidecar, str) else json.dumps(sidecar))
    assert differences(PlannedOutput(str(path), "other.png", "other.png", {"iterations": 5})) == []


def test_the_refusal_counts_every_clash_groups_them_by_folder_and_change_and_says_both_fixes(tmp_path):
    planned = []
    for folder in range(SHOWN + 2):
        for pair in range(2):
            path = tmp_path / str(folder) / f"{pair}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps({"status": "ok", "content_file": "c.png", "style_file": "s.png",
                                        "job_params": {"iterations": 1000}}))
            planned.append(PlannedOutput(str(path), "c.png", "s.png", {"iterations": 300}))
    planned.append(PlannedOutput(str(tmp_path / "absent.json"), "c.png", "s.png", {}))
    with pytest.raises(ConfigError) as refused:
        refuse_replacing(planned, "results")
    message = str(refused.value)
    assert message.startswith(f"results: {2 * (SHOWN + 2)} finished output(s) in results/ were made from other")
    assert f"{tmp_path / '0'}/ (2 outputs): iterations: 1000 -> 300" in message and "and 2 more folder(s)" in message
    assert f"{tmp_path / str(SHOWN)}/" not in message
    assert "--config results=results-new" in message and "delete those outputs first" in message
    refuse_replacing(planned[-1:], "results")  # nothing finished there: no error
