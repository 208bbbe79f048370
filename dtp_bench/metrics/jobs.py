"""The workflow's evaluate jobs, run in-process (Snakemake `run:`): one scorer per metrics
configuration is built once per process and reused by every output it scores, since building one
(VGG-16, LPIPS, PieAPP) costs seconds and an evaluation a fraction of that. Locally
(--force-use-threads) every evaluate job of a run shares Snakemake's own process; on a cluster,
where each job is a process of its own, `evaluate_batch_job` scores a batch of outputs in one."""

from __future__ import annotations

import functools
import json
import os
import threading
import traceback
from pathlib import Path

from .evaluate import score_job
from .scorer import Scorer

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _scorer(settings_json: str) -> Scorer:
    return Scorer(json.loads(settings_json))


def shared_scorer(settings: dict | None) -> Scorer:
    with _LOCK:  # jobs run in threads: build each scorer once
        return _scorer(json.dumps(settings or {}, sort_keys=True))


def _summary(record: dict) -> str:
    """A log line per output: its scores, the process and how many scorers that process built so
    far (whether outputs shared one: profiles/slurm/README.md, "Evaluate")."""
    values = {k: (round(v["value"], 4) if v["status"] == "ok" else v["status"]) for k, v in record["metrics"].items()}
    return (f"{record['dataset']}/{record['method']}/{record['pair_id']}: {record['status']} {record['reason']} "
            f"{values} [process {os.getpid()}, scorers built: {_scorer.cache_info().misses}]\n")


def evaluate_batch_job(jobs: list[dict], settings: dict | None, log) -> list[dict]:
    """Score each output of `jobs` (as `evaluate.score_job` reads them) with one scorer; a line per
    output (or the traceback of the first that fails) goes to `log`. The files of outputs scored
    before a failure stay."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    records = []
    with open(log, "w") as handle:
        for job in jobs:
            try:
                record = score_job(job, shared_scorer(settings))
            except Exception:
                handle.write(f"{job['sidecar']}:\n{traceback.format_exc()}")
                raise
            handle.write(_summary(record))
            records.append(record)
    return records


def evaluate_job(sidecar, out, settings: dict | None, log, **context) -> dict:
    """Score one output into `out`; a line (or the traceback) goes to `log`."""
    return evaluate_batch_job([{"sidecar": sidecar, "out": out, **context}], settings, log)[0]
