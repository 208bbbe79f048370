"""profiles/slurm, for real: the quick config, reduced to one Photo-R pair and two methods (DTP, a
GPU job, for a few iterations; Reinhard, a CPU job), submitted through the profile to a one-node
SLURM cluster on localhost (.ci/slurm/setup.sh: real slurmctld + slurmd from Debian's packages, 2
fake GPUs). Checked: each stylisation ran as the SLURM job Snakemake reports, the GPU job with the
GPU gres (and seen by the job itself) and without the plugin's --ntasks-per-gpu pitfall, and the
table was written.

The cluster: one already up on localhost is used as it is. Otherwise, with DTP_SLURM_CI=1 (CI), the
test installs and starts one, and stops it at the end; without, the test is skipped, saying how.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import shared
from workflow_sandbox import make_workdir, run_snakemake

REPO = Path(__file__).resolve().parents[1]
SETUP, TEARDOWN = REPO / ".ci/slurm/setup.sh", REPO / ".ci/slurm/teardown.sh"
NOT_POSSIBLE = 77  # setup.sh: not root, or no apt-get to install SLURM with
GPU_METHOD, CPU_METHOD, DATASET = "dtp_lc1_5", "reinhard", "photo-r"

pytestmark = pytest.mark.slow


def _cluster_up() -> bool:
    if not shutil.which("scontrol"):
        return False
    # `scontrol ping` answers at once; sinfo spends ~10 s retrying an absent controller
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if "UP" not in ping.stdout:
        return False
    state = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%T"], capture_output=True, text=True)
    return state.returncode == 0 and state.stdout.strip() in ("idle", "mixed", "allocated")


@pytest.fixture(scope="module")
def slurm_cluster():
    if _cluster_up():
        yield
        return
    if os.environ.get("DTP_SLURM_CI") != "1":
        pytest.skip("no SLURM cluster on localhost; start one with `bash .ci/slurm/setup.sh` (root, Debian), "
                    "or set DTP_SLURM_CI=1 to let this test install, start and stop it")
    setup = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=900)
    if setup.returncode == NOT_POSSIBLE:
        pytest.skip(f"SLURM cannot be installed here: {setup.stderr.strip()}")
    assert setup.returncode == 0, f"SLURM cluster did not start:\n{setup.stdout}\n{setup.stderr}"
    try:
        yield
    finally:
        subprocess.run(["bash", str(TEARDOWN)], timeout=120)


def _reduced_quick_config(workdir: Path, mirror: Path) -> None:
    """The quick config cut down to what fits a test (tests/workflow_sandbox.py)."""
    make_workdir(workdir, mirror, {
        "methods": {GPU_METHOD: {"params": {"iterations": 4, "snapshots": [0, 3]}}, CPU_METHOD: {}},
        "datasets": {"names": [DATASET], "limit": 1},
        "benchmark_datasets": [DATASET],
        "metrics": {"enabled": ["ssim"]},  # each metrics job loads its models: keep to the cheap one
        "threads_per_job": 1,  # the node has 2 CPUs: the two stylisations run side by side
    })


def _scontrol(job_id: str) -> str:
    # finished jobs stay visible for MinJobAge (300 s in .ci/slurm/slurm.conf.in); no sacct needed
    return subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True).stdout


def test_quick_config_runs_through_sbatch(slurm_cluster, tmp_path):
    _reduced_quick_config(tmp_path, shared("."))
    env = {**os.environ, "DTP_SLURM_INIT_SECONDS": "2"}  # first status check after 2 s, not 20
    run = run_snakemake(tmp_path, "--workflow-profile", str(REPO / "profiles/slurm"), timeout=900, env=env)
    log = run.stdout + run.stderr
    (tmp_path / "snakemake.log").write_text(log)
    assert run.returncode == 0, log[-4000:]

    (pair,) = [p.stem for p in (tmp_path / f"results/outputs/{DATASET}/{GPU_METHOD}").glob("*.json")]
    # Snakemake's record of each submission: "... submitted with SLURM jobid N (log: .../rule_R/<wildcards>/N.log)"
    submitted = {Path(path).parent.name: job_id for job_id, path in
                 re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S*/rule_stylize/\S+)\.log\)", log)}
    gpu_id, cpu_id = (submitted[f"{DATASET}_{method}_{pair}"] for method in (GPU_METHOD, CPU_METHOD))
    for method, job_id in ((GPU_METHOD, gpu_id), (CPU_METHOD, cpu_id)):
        job = _scontrol(job_id)
        assert f"Comment=rule_stylize_wildcards_{DATASET}_{method}_{pair}" in job and "JobState=COMPLETED" in job, job
        sidecar = json.loads((tmp_path / f"results/outputs/{DATASET}/{method}/{pair}.json").read_text())
        assert sidecar["status"] == "ok", sidecar
    gpu_job = _scontrol(gpu_id)
    assert "TresPerJob=gres:gpu:1" in gpu_job
    assert "NtasksPerTRES" not in gpu_job, "--ntasks-per-gpu was sent (the plugin's gpu/tasks pitfall)"
    assert "TresPerJob" not in _scontrol(cpu_id)
    # the GPU job saw the gres from inside: the scheduler's CUDA_VISIBLE_DEVICES (no CUDA here: CPU)
    gpu_sidecar = json.loads((tmp_path / f"results/outputs/{DATASET}/{GPU_METHOD}/{pair}.json").read_text())
    assert re.match(rf"SLURM job {gpu_id} was given GPU\(s\) '[01]'", gpu_sidecar["device_note"]), gpu_sidecar

    with open(tmp_path / "results/table1.csv") as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert float(rows[GPU_METHOD]["Photo-R SSIM"]) > 0 and float(rows[CPU_METHOD]["Photo-R SSIM"]) > 0
