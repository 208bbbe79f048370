"""profiles/slurm, for real: a workflow submitted through the profile to a one-node SLURM cluster on
localhost (.ci/slurm/setup.sh: real slurmctld + slurmd from Debian's packages, 2 fake GPUs), then
checked to have run through sbatch - each job inside the SLURM job Snakemake reports, the GPU job
with the GPU gres and without the plugin's --ntasks-per-gpu pitfall - and to have written its table.

The cluster: one already up on localhost is used as it is. Otherwise, with DTP_SLURM_CI=1 (CI), the
test installs and starts one, and stops it at the end; without, the test is skipped, saying how.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP, TEARDOWN = REPO / ".ci/slurm/setup.sh", REPO / ".ci/slurm/teardown.sh"
WORKFLOW = REPO / "tests/data/slurm_workflow"
NOT_POSSIBLE = 77  # setup.sh: not root, or no apt-get to install SLURM with

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


def _scontrol(job_id: str) -> str:
    # finished jobs stay visible for MinJobAge (300 s in .ci/slurm/slurm.conf.in); no sacct needed
    return subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True).stdout


def test_workflow_runs_through_sbatch(slurm_cluster, tmp_path):
    shutil.copy(WORKFLOW / "Snakefile", tmp_path / "Snakefile")
    env = {**os.environ, "DTP_SLURM_INIT_SECONDS": "2"}  # first status check after 2 s, not 20
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", str(REPO / "profiles/slurm"),
         "--snakefile", str(tmp_path / "Snakefile"), "--directory", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env)
    log = run.stdout + run.stderr
    (tmp_path / "snakemake.log").write_text(log)
    assert run.returncode == 0, log[-4000:]

    # Snakemake's own record of each submission: "... submitted with SLURM jobid N (log: .../rule_R/N.log)"
    submitted = {rule: job_id for job_id, rule in
                 re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/\1\.log\)", log)}
    assert set(submitted) == {"cpu_job", "gpu_job", "table"}, log[-4000:]

    with open(tmp_path / "results/table.csv") as handle:
        rows = {row["job"]: row for row in csv.DictReader(handle)}
    for rule, job in (("cpu_job", "cpu"), ("gpu_job", "gpu")):
        assert rows[job]["slurm_job_id"] == submitted[rule], "the rule ran outside the SLURM job it was given"
        assert f"Comment=rule_{rule}" in _scontrol(submitted[rule])
    assert rows["cpu"]["cuda_visible_devices"] == "unset"
    assert rows["gpu"]["cuda_visible_devices"] in ("0", "1"), "the GPU job got no GPU from SLURM"
    gpu_job = _scontrol(submitted["gpu_job"])
    assert "TresPerJob=gres:gpu:1" in gpu_job
    assert "NtasksPerTRES" not in gpu_job, "--ntasks-per-gpu was sent (the plugin's gpu/tasks pitfall)"
