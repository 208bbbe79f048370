"""Reruns: nothing stale (docs/refusals.md). A cell that said "unavailable" for want of a checkpoint
is planned again once the file is there; a failed job is tried again by `--retries` and by the next
run, and a retry that succeeds is not run a third time. And nothing overwritten: a run that would
replace a finished output made otherwise stops first. The job's own side first (fast), then real
Snakemake runs in a sandbox: one pair of photo-r at 32x32, with identity and Reinhard (always ok),
WCT (no checkpoint: unavailable) and Swapping AE (refuses inputs under 112 px at run time: failed)."""

from __future__ import annotations

import json
import os
import re
import signal

import numpy as np
import pytest
from PIL import Image

from baselines import wct
from checkpoint_fakes import fake_state, save
from conftest import shared
from dtp_bench import methods
from dtp_bench.stylize_job import main as stylize_job, retry_token
from workflow_sandbox import make_workdir, run_snakemake

OUTPUTS = "results/outputs/photo-r"


# -- the job and the params' ingredients, without Snakemake -------------------------------------

@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for name in ("content", "style"):
        path = tmp_path / f"{name}.png"
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _job(method, pair, out, *extra):
    """The stylize rule's command line, in this process (its SIGTERM handler put back after)."""
    on_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        return stylize_job(["--method", method, "--content", str(pair[0]), "--style", str(pair[1]), "--out",
                            str(out), "--device", "cpu", "--dataset", "test", "--pair-id", "1", *extra])
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)


def test_a_failure_with_attempts_left_records_nothing_and_exits_1(pair, tmp_path, capsys):
    out = tmp_path / "out" / "swapping_ae.png"
    assert _job("swapping_ae", pair, out, "--attempt", "1", "--attempts", "2") == 1
    assert not out.with_suffix(".json").exists()
    assert "attempt 1 of 2 failed, nothing recorded" in capsys.readouterr().err
    assert _job("swapping_ae", pair, out, "--attempt", "2", "--attempts", "2", "--retry-of", "T") == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["status"] == "failed" and sidecar["reason"].startswith("ValueError")
    assert (sidecar["attempt"], sidecar["attempts"], sidecar["retry_of"]) == (2, 2, "T")


def test_unavailable_is_recorded_at_the_first_attempt(pair, tmp_path, monkeypatch):
    monkeypatch.setenv("DTP_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    out = tmp_path / "wct.png"
    assert _job("wct", pair, out, "--attempt", "1", "--attempts", "3") == 0
    assert json.loads(out.with_suffix(".json").read_text())["status"] == "unavailable"


def test_retry_token_is_new_per_failure_and_read_back_after_the_retry(tmp_path):
    sidecar = tmp_path / "x.json"
    assert retry_token([sidecar]) == ""  # absent: the job runs anyway
    sidecar.write_text(json.dumps({"status": "failed"}))
    first = retry_token([sidecar])
    assert first.startswith("after the failure")
    os.utime(sidecar, ns=(1, 1))
    assert retry_token([sidecar]) not in ("", first)  # a new failure: a new token
    sidecar.write_text(json.dumps({"status": "ok", "retry_of": first}))
    assert retry_token([sidecar]) == first  # what Snakemake recorded for the retry: nothing reruns
    sidecar.write_text(json.dumps({"status": "unavailable"}))
    assert retry_token([sidecar]) == ""


def test_weight_files_are_where_the_method_looks_and_their_state_changes_when_one_appears(tmp_path, monkeypatch):
    monkeypatch.setenv("DTP_WEIGHTS_DIR", str(tmp_path))
    files = methods.weight_files("wct")
    assert {f.name for f in files} == set(wct.PTH_FILES) | set(wct.T7_FILES)
    assert {f.parent for f in files} == {tmp_path / "wct"}
    assert methods.weight_files("wct", {"weights_dir": "elsewhere"})[0].parent.as_posix() == "elsewhere/wct"
    assert methods.weight_files("identity") == ()
    before = methods.files_state(files)
    save(files[0], {})
    assert methods.files_state(files) != before and "absent" in before


# -- real Snakemake runs --------------------------------------------------------------------------

def _planned(dry_run) -> list[str]:
    """The methods of the stylize jobs a dry run plans, sorted."""
    assert dry_run.returncode == 0, (dry_run.stdout + dry_run.stderr)[-3000:]
    return sorted(re.findall(r"stylize_job --method (\S+)", dry_run.stdout))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reruns")
    make_workdir(workdir, shared("."), {
        "methods": {"identity": {}, "reinhard": {}, "wct": {}, "swapping_ae": {}},
        "datasets": {"names": ["photo-r"], "limit": 1, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "metrics": {"enabled": ["ssim"]},
    })
    env = {key: value for key, value in os.environ.items() if key != "DTP_WEIGHTS_DIR"}  # data/weights in the sandbox

    def snakemake(*args):
        return run_snakemake(workdir, "--cores", "2", *args, env=env)

    first = snakemake("--retries", "1", "--", "results/table1.csv")
    (workdir / "first-run.log").write_text(first.stdout + first.stderr)
    assert first.returncode == 0, (first.stdout + first.stderr)[-5000:]
    (pair,) = [p.stem for p in (workdir / OUTPUTS / "identity").glob("*.json")]
    return workdir, snakemake, first, pair


def _sidecar(workdir, method, pair):
    return json.loads((workdir / OUTPUTS / method / f"{pair}.json").read_text())


@pytest.mark.slow
def test_retries_try_a_failed_job_again_and_the_last_attempt_records_failed(sandbox):
    workdir, _, first, pair = sandbox
    output = first.stdout + first.stderr
    assert output.count("Trying to restart job") == 1  # Swapping AE's, nothing else
    # Snakemake deletes a job's log before each attempt; the failed one's is in its own output
    assert f"swapping_ae photo-r/{pair}: attempt 1 of 2 failed, nothing recorded" in output
    log = (workdir / f"results/logs/stylize/photo-r/swapping_ae/{pair}.log").read_text()
    assert "(attempt 2 of 2)" in log and f"swapping_ae photo-r/{pair}: failed ValueError" in log
    failed = _sidecar(workdir, "swapping_ae", pair)
    assert failed["status"] == "failed" and (failed["attempt"], failed["attempts"]) == (2, 2)
    unavailable = _sidecar(workdir, "wct", pair)
    assert unavailable["status"] == "unavailable" and unavailable["attempt"] == 1
    assert "attempt 2" not in (workdir / f"results/logs/stylize/photo-r/wct/{pair}.log").read_text()
    table = (workdir / "results/table1.csv").read_text()
    assert "Swapping AE" in table and "failed" in table and "unavailable" in table


@pytest.mark.slow
def test_the_next_run_plans_the_failed_job_again(sandbox):
    _, snakemake, _, _ = sandbox
    run = snakemake("--dry-run", "--", "results/table1.csv")
    assert _planned(run) == ["swapping_ae"]
    assert "Params have changed" in run.stdout


@pytest.mark.slow
def test_a_checkpoint_that_appears_reruns_the_unavailable_cell_once(sandbox):
    workdir, snakemake, _, pair = sandbox
    nets = wct.WCTNetworks()  # loadable fakes: every name and shape of the authors' PyTorch files
    for name, module in [("vgg19_normalized.pth.tar", nets.encoder),
                         *[(f"vgg19_normalized_decoder{k}.pth.tar", nets.decoders[str(k)]) for k in wct.LEVELS]]:
        save(workdir / "data/weights/wct" / name, fake_state(module))
    assert _planned(snakemake("--dry-run", "--", "results/table1.csv")) == ["swapping_ae", "wct"]
    run = snakemake("--", f"{OUTPUTS}/wct/{pair}.json")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    sidecar = _sidecar(workdir, "wct", pair)
    assert sidecar["status"] == "ok" and set(sidecar["checkpoints"]) == set(wct.PTH_FILES)


@pytest.mark.slow
def test_a_retry_that_succeeds_is_not_run_again(sandbox):
    workdir, snakemake, _, pair = sandbox
    # As if identity had failed on its first run (out of memory, say): its sidecar says so.
    path = workdir / OUTPUTS / "identity" / f"{pair}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "status": "failed", "reason": "RuntimeError: OOM"}))
    run = snakemake("--", str(path.relative_to(workdir)))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    healed = _sidecar(workdir, "identity", pair)
    assert healed["status"] == "ok" and healed["retry_of"].startswith("after the failure")
    # identity (healed) and WCT (its checkpoints came) are settled; only the failing job is planned
    assert _planned(snakemake("--dry-run", "--", "results/table1.csv")) == ["swapping_ae"]


def _files(folder, leaving_out=()):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and not any(part in leaving_out for part in path.relative_to(folder).parts)}


@pytest.mark.slow
def test_a_run_that_would_replace_finished_outputs_made_otherwise_stops_and_its_own_folder_keeps_both(sandbox):
    workdir, snakemake, _, pair = sandbox
    other_params, other_size = "methods={reinhard: {params: {space: cielab}}}", "datasets={sizes: [48x48]}"
    before = _files(workdir / "results")
    for change, named in ((other_params, f"{OUTPUTS}/reinhard/ (1 output): space: (default) -> cielab"),
                          (other_size, f"{OUTPUTS}/identity/ (1 output): inputs 32x32 -> 48x48")):
        refused = snakemake("--config", change, "--", "results/table1.csv")
        assert refused.returncode != 0 and "Job stats" not in refused.stdout
        assert "results: " in refused.stderr and named in refused.stderr, refused.stderr[-3000:]
        assert "--config results=results-new" in refused.stderr
    # the same changes in a folder of their own (as config/quick.yaml has): a real run beside the finished one
    quick = snakemake("--config", "results=results/quick", other_params, other_size, "--", "results/quick/table1.csv")
    assert quick.returncode == 0, (quick.stdout + quick.stderr)[-3000:]
    made = json.loads((workdir / "results/quick/outputs/photo-r/reinhard" / f"{pair}.json").read_text())
    assert made["status"] == "ok" and made["job_params"] == {"space": "cielab"} and "48x48" in made["content_file"]
    assert _files(workdir / "results", leaving_out=("quick",)) == before  # byte for byte, logs and tables too
