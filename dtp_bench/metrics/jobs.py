"""The workflow's evaluate job, run in-process (Snakemake `run:` with --force-use-threads): one
scorer per metrics configuration is built once and reused by every job of the run, since building
one (VGG-16, LPIPS, PieAPP) costs seconds and an evaluation a fraction of that."""

from __future__ import annotations

import functools
import json
import os
import threading
import traceback
from pathlib import Path

from .evaluate import evaluate_output
from .scorer import Scorer

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _scorer(settings_json: str) -> Scorer:
    return Scorer(json.loads(settings_json))


def shared_scorer(settings: dict | None) -> Scorer:
    with _LOCK:  # jobs run in threads: build each scorer once
        return _scorer(json.dumps(settings or {}, sort_keys=True))


def evaluate_job(sidecar, out, settings: dict | None, log, **context) -> dict:
    """Score one output into `out`; a line per job (or the traceback) goes to `log`."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        try:
            record = evaluate_output(sidecar, out, shared_scorer(settings), **context)
        except Exception:
            handle.write(traceback.format_exc())
            raise
        values = {k: (round(v["value"], 4) if v["status"] == "ok" else v["status"]) for k, v in record["metrics"].items()}
        # the process and how many scorers it built so far: whether jobs shared one (profiles/slurm)
        handle.write(f"{record['dataset']}/{record['method']}/{record['pair_id']}: {record['status']} "
                     f"{record['reason']} {values} [process {os.getpid()}, scorers built: "
                     f"{_scorer.cache_info().misses}]\n")
    return record
