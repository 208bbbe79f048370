"""What every output records about how it was made: timing, peak memory, versions, device.

`sidecar_facts` is the one place the sidecar's common facts are built: DTP's `trainer.run_facts`
and the baselines' `runs.facts` each call it and add only what is their own."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from .devices import cpu_model_and_flags, describe


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The checkout's commit when this code runs from one (None for an installed copy)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: torch.device) -> dict:
    return {
        "device": describe(device),
        "cpu": cpu_model_and_flags(),  # the kernels a CPU run used depend on it (docs/numerics.md)
        "host": platform.node(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in
                     ("dtp-bench", "torch", "torchvision", "numpy", "pillow", "piq", "scikit-image", "lpips")},
        "git_commit": git_commit(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def sidecar_facts(method: str, config, *, seed: int, input_shape, backbone: dict, meter: "Meter",
                  device: torch.device, iterations: int | None = None, **own) -> dict:
    """The facts every method's sidecar records, then `own` (what only that method records).

    `config` is a DTPConfig or a baseline's config (`to_dict`, `non_defaults`: the run saves every
    option it used, marking the non-defaults); `backbone` is `ResolvedWeights.record()` or the
    baselines' `NO_BACKBONE`. With `iterations` (the number the run made) it also records the time
    per iteration; a method without iterations passes none. The environment comes last, so that no
    method's own keys can overwrite it.
    """
    record = {
        "method": method,
        "parameters": config.to_dict(),
        "non_default_parameters": config.non_defaults(),
        "seed": seed,
        "input_shape": list(input_shape),
        **backbone,
        **meter.facts(),
    }
    if iterations:
        record["iterations_run"] = iterations
        record["seconds_per_iteration"] = round(meter.seconds / iterations, 4)
    record.update(own)
    record.update(environment(device))
    return record


class Meter:
    """Wall time and peak memory of a block: `with Meter(device) as m: ...; m.facts()`."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
        return False

    def facts(self) -> dict:
        facts = {"seconds": round(self.seconds, 3), "peak_rss_mib": round(peak_rss_mib(), 1)}
        if self.device.type == "cuda":
            facts["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        return facts
