"""Give each GPU job its own CUDA device: Snakemake's `gpu` resource only counts jobs, it never
picks a device, so with `--resources gpu=N` the N running jobs would otherwise all land on cuda:0.

    with claim_device(args.device) as claim:     # claim.device: "cuda:1" or "cpu"; claim.note: why
        run(..., device=claim.device)

- Locally, a job takes the first visible GPU whose lock file it can `flock` (in $DTP_GPU_LOCK_DIR,
  default <tmp>/dtp-bench-gpu-locks), waiting while every GPU is taken. The lock goes when the block
  exits or when the process dies, however it dies: the kernel drops a dead process's flocks, so a
  killed job never leaves a GPU claimed. (A child forked inside the block inherits the lock; it is
  released when the last of them exits.)
- On SLURM the scheduler has already given the job its GPUs through CUDA_VISIBLE_DEVICES: those are
  the job's alone, so no lock (a lock folder could not see other nodes anyway); cuda:0 is used.
- With no CUDA device, a GPU job runs on the CPU and the note says so.
Only "auto" and "cuda" are claimed; "cpu", "mps" and "cuda:N" are used as given.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

DEFAULT_LOCK_DIR = Path(tempfile.gettempdir()) / "dtp-bench-gpu-locks"


@dataclass(frozen=True)
class DeviceClaim:
    device: str  # a torch device string
    note: str  # how it was chosen; worth a line in the job's log and sidecar


@contextmanager
def claim_device(requested: str = "auto", *, wanted: bool = True, device_count: int | None = None,
                 lock_dir: Path | None = None, environ: Mapping[str, str] | None = None,
                 poll_seconds: float = 0.5) -> Iterator[DeviceClaim]:
    """Hold a device for the duration of the block. `wanted=False` (a job without `resources: gpu=1`)
    claims nothing: Snakemake did not count it against the GPUs, so it must not take one's lock.
    `device_count` and `environ` default to what torch and the process see; tests inject them."""
    env = os.environ if environ is None else environ
    kind = str(requested).lower()
    if not wanted or kind not in ("auto", "cuda"):
        yield DeviceClaim(str(requested), "")
        return
    count = _cuda_device_count() if device_count is None else device_count
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if count == 0:
        where = ""
        if env.get("SLURM_JOB_ID") and visible:  # a gres with no CUDA behind it (or a broken driver)
            where = f"SLURM job {env['SLURM_JOB_ID']} was given GPU(s) {visible!r} but "
        if kind == "cuda":  # asked for explicitly: let the method's device check say it is absent
            yield DeviceClaim("cuda", f"{where}no CUDA device is visible")
        else:
            yield DeviceClaim("cpu", f"{where}no CUDA device is visible: this GPU job runs on the CPU")
        return
    if env.get("SLURM_JOB_ID") and visible is not None:
        yield _use(0, f"SLURM job {env['SLURM_JOB_ID']} was given GPU(s) {visible}: using cuda:0")
        return
    with _lock_free_device(count, visible, Path(lock_dir or env.get("DTP_GPU_LOCK_DIR") or DEFAULT_LOCK_DIR),
                           poll_seconds) as (index, note):
        yield _use(index, note)


def _cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _use(index: int, note: str) -> DeviceClaim:
    import torch

    if torch.cuda.is_available() and index < torch.cuda.device_count():
        torch.cuda.set_device(index)  # so that a bare `.cuda()` in any method lands on it too
    return DeviceClaim(f"cuda:{index}", note)


@contextmanager
def _lock_free_device(count: int, visible: str | None, lock_dir: Path, poll_seconds: float):
    # Name each lock by the physical GPU (CUDA_VISIBLE_DEVICES maps torch's index 0 to, e.g., GPU 2)
    # and the host, so that runs with different masks, or a lock folder on a shared disk, agree.
    physical = visible.split(",")[:count] if visible else [str(i) for i in range(count)]
    lock_dir.mkdir(parents=True, exist_ok=True)
    host, start, waiting_said = socket.gethostname(), time.monotonic(), False
    while True:
        for index, gpu in enumerate(physical):
            path = lock_dir / f"{host}-gpu{gpu}.lock"
            handle = open(path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                handle.truncate(0)
                handle.write(f"{os.getpid()}\n")  # who holds it, for a human looking
                handle.flush()
                waited = time.monotonic() - start
                yield index, (f"claimed GPU {gpu} (cuda:{index}, {index + 1} of {count}) through {path}"
                              + (f" after waiting {waited:.0f} s" if waiting_said else ""))
            finally:
                handle.close()  # releases the flock
            return
        if not waiting_said:
            print(f"gpu_claim: all {count} GPU(s) are taken (locks in {lock_dir}); waiting", file=sys.stderr, flush=True)
            waiting_said = True
        time.sleep(poll_seconds)
