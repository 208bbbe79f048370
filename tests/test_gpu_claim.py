"""dtp_bench.gpu_claim on CPU: N GPUs are faked by injecting the device count; the jobs are real
processes, since the claim must hold across Snakemake's job processes."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal

import pytest

from dtp_bench.gpu_claim import claim_device

FORK = multiprocessing.get_context("fork")


def _claim_and_hold(count, lock_dir, got, release, poll=0.05):
    with claim_device("auto", device_count=count, lock_dir=lock_dir, environ={}, poll_seconds=poll) as claim:
        got.put(claim.device)
        release.wait(30)


def _start(count, lock_dir, got, release):
    proc = FORK.Process(target=_claim_and_hold, args=(count, lock_dir, got, release))
    proc.start()
    return proc


def test_concurrent_jobs_get_distinct_devices(tmp_path):
    got, release = FORK.Queue(), FORK.Event()
    procs = [_start(3, tmp_path, got, release) for _ in range(3)]
    try:
        devices = sorted(got.get(timeout=30) for _ in procs)  # all three hold theirs at once
    finally:
        release.set()
        for proc in procs:
            proc.join(30)
    assert devices == ["cuda:0", "cuda:1", "cuda:2"]
    assert all(proc.exitcode == 0 for proc in procs)


def test_a_job_waits_while_every_gpu_is_taken(tmp_path):
    # every claim is made in a child: a forked child inherits the parent's open lock files, and
    # with them its flocks, so the parent itself holds nothing here
    got = FORK.Queue()
    releases = [FORK.Event() for _ in range(3)]
    procs = holders = [_start(2, tmp_path, got, release) for release in releases[:2]]
    try:
        assert sorted(got.get(timeout=30) for _ in holders) == ["cuda:0", "cuda:1"]
        procs = holders + [_start(2, tmp_path, got, releases[2])]
        with pytest.raises(queue.Empty):  # nothing is free yet
            got.get(timeout=0.5)
        releases[1].set()  # the holder of one GPU (either) finishes
        holders[1].join(30)
        assert got.get(timeout=30) in ("cuda:0", "cuda:1")
    finally:
        for release in releases:
            release.set()
        for proc in procs:
            proc.join(30)


def test_a_killed_job_releases_its_gpu(tmp_path):
    got, release = FORK.Queue(), FORK.Event()
    proc = _start(1, tmp_path, got, release)
    assert got.get(timeout=30) == "cuda:0"
    os.kill(proc.pid, signal.SIGKILL)  # no `finally` runs: the kernel drops the flock
    proc.join(30)
    with claim_device(device_count=1, lock_dir=tmp_path, environ={}, poll_seconds=0.05) as claim:
        assert claim.device == "cuda:0"


def test_locks_are_named_by_physical_gpu(tmp_path):
    with claim_device(device_count=2, lock_dir=tmp_path, environ={"CUDA_VISIBLE_DEVICES": "2,3"}) as claim:
        assert claim.device == "cuda:0"
        assert "GPU 2" in claim.note
        assert [p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()] == ["gpu2.lock"]


def test_no_gpu_runs_on_cpu_with_a_note(tmp_path):
    with claim_device("auto", device_count=0, lock_dir=tmp_path, environ={}) as claim:
        assert claim.device == "cpu"
        assert "runs on the CPU" in claim.note


@pytest.mark.parametrize("requested", ["cpu", "cuda:1", "mps"])
def test_explicit_devices_are_used_as_given(tmp_path, requested):
    with claim_device(requested, device_count=4, lock_dir=tmp_path, environ={}) as claim:
        assert (claim.device, claim.note) == (requested, "")
    assert not list(tmp_path.iterdir())


def test_a_job_that_wants_no_gpu_claims_none(tmp_path):
    with claim_device("auto", wanted=False, device_count=2, lock_dir=tmp_path, environ={}) as claim:
        assert (claim.device, claim.note) == ("auto", "")
    assert not list(tmp_path.iterdir())


def test_slurm_allocation_is_respected_without_locks(tmp_path):
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "3"}
    with claim_device(device_count=1, lock_dir=tmp_path, environ=env) as claim:
        assert claim.device == "cuda:0"
        assert "SLURM job 7" in claim.note
    assert not list(tmp_path.iterdir())


def test_slurm_gres_without_cuda_runs_on_cpu(tmp_path):
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}
    with claim_device(device_count=0, lock_dir=tmp_path, environ=env) as claim:
        assert claim.device == "cpu"
        assert "SLURM job 7 was given GPU(s) '0'" in claim.note
