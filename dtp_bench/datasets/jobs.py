"""The work of each workflow job, with its log: what `workflow/rules/datasets.smk` calls.

Each job writes what it did (and, on failure, the error) to its log file, and its output
atomically, so a failed or killed job leaves its log and nothing that looks finished.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from dtp_core.fetch import Expected, fetch, verify_fetched

from .pairlist import write_pair_list
from .plan import DatasetPlan
from .resizing import ResizeSpec, resize_file
from .settings import FetchSettings
from .sources import FIXES, Location


@contextlib.contextmanager
def job_log(path: str | Path | None, echo_warnings: bool = True) -> Iterator[Callable[[str], None]]:
    """Yield `say(line)`, which appends to the log (and prints warnings to stderr too)."""
    handle = None
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")

    def say(line: str) -> None:
        if handle is not None:
            handle.write(line + "\n")
            handle.flush()
        if handle is None or (echo_warnings and line.startswith("WARNING")):
            print(line, file=sys.stderr)

    try:
        yield say
    except Exception as err:
        say(f"ERROR: {err}")
        raise
    finally:
        if handle is not None:
            handle.close()


def fetch_job(location: Location, destination: str | Path, settings: FetchSettings, log: str | Path | None) -> None:
    with job_log(log) as say:
        start = time.perf_counter()
        fetched = fetch(location.url, destination, location.expected, fixes=FIXES, attempts=settings.attempts,
                        backoff_s=settings.backoff_s, timeout_s=settings.timeout_s, report=say)
        say(f"fetched {fetched.url} -> {destination}: {fetched.bytes} bytes, sha256 {fetched.sha256} "
            f"(pinned {location.expected.describe()}), {fetched.attempts} attempt(s), "
            f"{time.perf_counter() - start:.2f} s, from {location.origin}")


def resize_job(source: str | Path, destination: str | Path, size_token: str, log: str | Path | None,
               pinned: Expected | None = None) -> None:
    """Resize `source`, which must still be the `pinned` file it was fetched as (None: the user's own)."""
    with job_log(log) as say:
        if pinned is not None:
            verify_fetched(source, pinned)
        height, width = resize_file(source, destination, ResizeSpec.parse(size_token))
        say(f"resized {source} -> {destination}: {width}x{height} ({size_token}, bilinear)")


def pairs_job(plan: DatasetPlan, tsv: str | Path, summary: str | Path, log: str | Path | None) -> None:
    with job_log(log) as say:
        write_pair_list(plan, tsv, summary, report=say)
