"""profiles/slurm, for real: the quick config, reduced to two Photo-R pairs and two methods (DTP,
a GPU job, for a few iterations; Reinhard, a CPU job), submitted through the profile to a one-node
SLURM cluster on localhost (.ci/slurm/setup.sh: real slurmctld + slurmd from Debian's packages, 2
fake GPUs, two partitions `cpu` and `gpu` on the one node). Checked: each stylisation ran as the
SLURM job Snakemake reports, the GPU jobs in the `gpu` partition with the GPU gres (and seen by the
job itself) and without the plugin's --ntasks-per-gpu pitfall, the CPU jobs in the `cpu` partition
without one; each method's outputs were scored by one evaluate_batch job in the `cpu` partition, in
one process; the fallback of a job per output went as one grouped SLURM job; the table was
written. And a job that SLURM kills (a runtime over the limit the profile asked for) is reported
as failed, with its SLURM job id and state. The "GPU" partition has no real GPU here: what is
tested is the routing and the gres bookkeeping, not CUDA.

The cluster: one already up on localhost with those partitions is used as it is. Otherwise, with
DTP_SLURM_CI=1 (CI), the test installs and starts one, and stops it at the end; without, the test is
skipped, saying how.
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
    state = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%R %T"], capture_output=True, text=True)
    # a line per partition: both of .ci/slurm/slurm.conf.in's, the node up in each
    partitions = dict(line.split() for line in state.stdout.splitlines())
    return (state.returncode == 0 and sorted(partitions) == ["cpu", "gpu"]
            and all(node in ("idle", "mixed", "allocated") for node in partitions.values()))


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
        "datasets": {"names": [DATASET], "limit": 2},
        "benchmark_datasets": [DATASET],
        "metrics": {"enabled": ["ssim"]},  # each metrics job loads its models: keep to the cheap one
        "threads_per_job": 1,  # the node has 2 CPUs: two stylisations run side by side
    })


def _scontrol(job_id: str) -> str:
    # finished jobs stay visible for MinJobAge (300 s in .ci/slurm/slurm.conf.in); no sacct needed
    return subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True).stdout


def _submissions(log: str, rule: str) -> dict[str, str]:
    """Snakemake's record of each submission of `rule`: "... submitted with SLURM jobid N (log:
    .../rule_R/<wildcards>/N.log)", as {<wildcards>: N}."""
    return {Path(path).parent.name: job_id for job_id, path in
            re.findall(rf"submitted with SLURM jobid (\d+) \(log: (\S*/rule_{rule}/\S+)\.log\)", log)}


def _scoring_processes(log_file: Path) -> list[tuple[str, str, str]]:
    """(output, process, scorers built) per line of an evaluate log (dtp_bench/metrics/jobs.py)."""
    return re.findall(r"^(\S+): .*\[process (\d+), scorers built: (\d+)\]$", log_file.read_text(), flags=re.M)


def test_quick_config_runs_through_sbatch(slurm_cluster, tmp_path):
    _reduced_quick_config(tmp_path, shared("."))
    env = {**os.environ, "DTP_SLURM_INIT_SECONDS": "2"}  # first status check after 2 s, not 20
    run = run_snakemake(tmp_path, "--workflow-profile", str(REPO / "profiles/slurm"), timeout=900, env=env)
    log = run.stdout + run.stderr
    (tmp_path / "snakemake.log").write_text(log)
    assert run.returncode == 0, log[-4000:]

    pairs = sorted(p.stem for p in (tmp_path / f"results/outputs/{DATASET}/{GPU_METHOD}").glob("*.json"))
    assert len(pairs) == 2, pairs
    submitted = _submissions(log, "stylize")
    for pair in pairs:
        gpu_id, cpu_id = (submitted[f"{DATASET}_{method}_{pair}"] for method in (GPU_METHOD, CPU_METHOD))
        for method, job_id in ((GPU_METHOD, gpu_id), (CPU_METHOD, cpu_id)):
            job = _scontrol(job_id)
            assert f"Comment=rule_stylize_wildcards_{DATASET}_{method}_{pair}" in job and "JobState=COMPLETED" in job, job
            sidecar = json.loads((tmp_path / f"results/outputs/{DATASET}/{method}/{pair}.json").read_text())
            assert sidecar["status"] == "ok", sidecar
        gpu_job, cpu_job = _scontrol(gpu_id), _scontrol(cpu_id)
        assert "TresPerJob=gres:gpu:1" in gpu_job and " Partition=gpu " in gpu_job, gpu_job
        assert "NtasksPerTRES" not in gpu_job, "--ntasks-per-gpu was sent (the plugin's gpu/tasks pitfall)"
        assert "TresPerJob" not in cpu_job and " Partition=cpu " in cpu_job, cpu_job
        # the profile's runtimes reached SLURM (minutes), within the partitions' limits
        assert "TimeLimit=02:00:00" in gpu_job and "TimeLimit=02:00:00" in cpu_job
        # the GPU job saw the gres from inside: the scheduler's CUDA_VISIBLE_DEVICES (no CUDA here: CPU)
        gpu_sidecar = json.loads((tmp_path / f"results/outputs/{DATASET}/{GPU_METHOD}/{pair}.json").read_text())
        assert re.match(rf"SLURM job {gpu_id} was given GPU\(s\) '[01]'", gpu_sidecar["device_note"]), gpu_sidecar

    # scoring: one evaluate_batch job per method (profiles/slurm: evaluate_batch=50), in the cpu
    # partition, no GPU; both of its outputs scored in one process by one scorer
    batches = _submissions(log, "evaluate_batch")
    assert sorted(batches) == sorted(f"{DATASET}_{method}_0" for method in (GPU_METHOD, CPU_METHOD)), log[-4000:]
    assert not re.search(r"\(log: \S*/(rule_evaluate|group_evaluate)/", log), "an output was scored on its own"
    for method in (GPU_METHOD, CPU_METHOD):
        job = _scontrol(batches[f"{DATASET}_{method}_0"])
        assert "JobState=COMPLETED" in job and " Partition=cpu " in job and "TresPerJob" not in job, job
        # the profile's measured memory, and 2 minutes per output of a full batch of 50
        assert "NumCPUs=1 " in job and "mem=3000M" in job and "TimeLimit=01:40:00" in job, job
        lines = _scoring_processes(tmp_path / f"results/logs/evaluate_batch/{DATASET}/{method}/batch-0.log")
        assert [line[0] for line in lines] == [f"{DATASET}/{method}/{pair}" for pair in pairs], lines
        assert len({process for _, process, _ in lines}) == 1 and {built for *_, built in lines} == {"1"}, lines
        for pair in pairs:
            assert json.loads((tmp_path / f"results/metrics/{DATASET}/{method}/{pair}.json").read_text())["status"] == "ok"

    # the fallback, a job per output (a command line --config replaces the profile's): the four
    # evaluate jobs go as one grouped SLURM job sized for one output at a time (evaluate_slots),
    # its runtime the sum; each output is still a process of its own there (the jobstep executor
    # runs each job as its own srun step)
    for folder in ("metrics", "metrics_batches"):
        shutil.rmtree(tmp_path / "results" / folder)
    run = run_snakemake(tmp_path, "--workflow-profile", str(REPO / "profiles/slurm"), "--config", "evaluate_batch=1",
                        timeout=900, env=env)
    log = run.stdout + run.stderr
    (tmp_path / "snakemake-grouped.log").write_text(log)
    assert run.returncode == 0, log[-4000:]
    groups = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/group_evaluate\S*\.log\)", log)
    assert len(groups) == 1, log[-4000:]
    assert not re.search(r"\(log: \S*/rule_(evaluate|stylize)", log), "a job went on its own, or was rerun"
    group_job = _scontrol(groups[0])
    assert "JobState=COMPLETED" in group_job and " Partition=cpu " in group_job, group_job
    assert "NumCPUs=1 " in group_job and "mem=3000M" in group_job and "TimeLimit=00:08:00" in group_job, group_job
    processes = set()
    for method in (GPU_METHOD, CPU_METHOD):
        for pair in pairs:
            ((_, process, built),) = _scoring_processes(tmp_path / f"results/logs/evaluate/{DATASET}/{method}/{pair}.log")
            processes.add(process)
            assert built == "1"
    assert len(processes) == 4, processes

    with open(tmp_path / "results/table1.csv") as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert float(rows[GPU_METHOD]["Photo-R SSIM"]) > 0 and float(rows[CPU_METHOD]["Photo-R SSIM"]) > 0


def test_job_killed_by_slurm_is_reported(slurm_cluster, tmp_path):
    """A DTP job asking for 1 minute (DTP_SLURM_STYLIZE_RUNTIME) and needing far more: SLURM ends it
    at its time limit, and Snakemake reports the rule, the SLURM job id and the state."""
    make_workdir(tmp_path, shared("."), {
        "methods": {GPU_METHOD: {"params": {"iterations": 100000}}},
        "datasets": {"names": [DATASET], "limit": 1},
        "benchmark_datasets": [DATASET],
        "metrics": {"enabled": ["ssim"]},
        "threads_per_job": 1,
    })
    env = {**os.environ, "DTP_SLURM_INIT_SECONDS": "2", "DTP_SLURM_STYLIZE_RUNTIME": "1"}
    run = run_snakemake(tmp_path, "--workflow-profile", str(REPO / "profiles/slurm"), timeout=900, env=env)
    log = run.stdout + run.stderr
    (tmp_path / "snakemake.log").write_text(log)
    assert run.returncode != 0, log[-4000:]
    (job_id,) = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_stylize/", log)
    job = _scontrol(job_id)
    assert "JobState=TIMEOUT" in job and "TimeLimit=00:01:00" in job and " Partition=gpu " in job, job
    assert re.search(rf"SLURM-job '{job_id}' failed, SLURM status is: 'TIMEOUT'", log), log[-4000:]
    assert "Error in rule stylize" in log, log[-4000:]
