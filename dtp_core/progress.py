"""Long work speaks: progress lines and the loss curve, written while a run goes.

A DTP run takes minutes on a GPU and hours on a CPU. On a terminal it shows tqdm's bar; anywhere
else (a workflow job, whose stderr is its log; `dtp stylize ... 2> run.log`) `ProgressLines`
prints one plain line at the first iteration, then whenever `DTP_PROGRESS_INTERVAL` seconds
(default 60) have passed since the previous line, and at the last iteration:

    DTP 120/1000  total=1.1507 content=1.7135 style=0.2881 cycle=0.5775  7.9 s/it  ETA 1:55:40

that is: iterations done / planned, the latest iteration's loss terms, the mean seconds per
iteration since the previous line, and the time left at that pace. `LossStream` appends the loss
terms to a CSV on the same cadence (and once more when the run ends, however it ends), so a killed
run leaves the iterations it did.

Both read the losses off the device only when they write: one host sync per interval, not one per
iteration. Both take a clock, so tests need not sleep.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import torch

from .errors import ConfigError, OutputError

INTERVAL_VARIABLE = "DTP_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 60.0  # seconds: a log a person can read back, yet a stalled job shows within a minute


def interval_from_environment() -> float:
    """Seconds between progress lines (and loss CSV flushes): `DTP_PROGRESS_INTERVAL`, default 60.
    0 writes every iteration; `inf` only the first and the last."""
    text = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0:  # also refuses nan
        raise ConfigError(INTERVAL_VARIABLE, f"must be a number of seconds >= 0, got {text!r}",
                          f"e.g. {INTERVAL_VARIABLE}=60, or unset it")
    return seconds


def lines_wanted(progress: bool | None, stream: TextIO | None = None) -> bool:
    """Plain lines instead of a bar: `progress` is None (bar only on a terminal) and `stream`
    (stderr) is not a terminal. True means the bar, False silence, as before."""
    stream = sys.stderr if stream is None else stream
    return progress is None and stream is not None and not (hasattr(stream, "isatty") and stream.isatty())


def _rows(terms) -> tuple[list[list[float]], bool]:
    """(T,) or (B, T) loss terms (a tensor, possibly on a device, or nested sequences) as a list of
    rows, and whether they were a batch."""
    values = terms.tolist() if hasattr(terms, "tolist") else [list(t) if isinstance(t, (list, tuple)) else t
                                                              for t in terms]
    batched = bool(values) and isinstance(values[0], (list, tuple))
    return (values if batched else [values]), batched


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class ProgressLines:
    """Decides, iteration by iteration, whether to print a progress line, and prints it.

    `update(iteration, terms)` after each iteration (0-based): prints at the first, at the last
    (the planned `total`, or `last=True` for a run that stops early), and once `interval` seconds
    passed since the previous line. `terms`: the loss terms named by `names`, shape (T,); for a
    batch of runs (B, T), one line per run labelled `label[i]` (i as in the sidecar's batch index).
    """

    def __init__(self, total: int, names: Sequence[str], label: str = "DTP", *, interval: float | None = None,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic, enabled: bool = True):
        self.total, self.names, self.label = total, tuple(names), label
        self.interval = interval_from_environment() if interval is None else interval
        self.stream, self.clock, self.enabled = stream, clock, enabled
        self._previous = (clock(), 0)  # (time, iterations done) at the previous line; at first the start

    @classmethod
    def for_run(cls, progress: bool | None, total: int, names: Sequence[str], label: str = "DTP") -> ProgressLines:
        """The lines of a run whose `progress` argument says: None, off a terminal (else silent)."""
        return cls(total, names, label, enabled=lines_wanted(progress))

    def update(self, iteration: int, terms, *, last: bool = False) -> bool:
        """Print a line if one is due; returns whether it printed."""
        if not self.enabled:
            return False
        now, done = self.clock(), iteration + 1
        then, done_then = self._previous
        if not (iteration == 0 or last or done >= self.total or now - then >= self.interval):
            return False
        self._previous = (now, done)
        per_iteration = (now - then) / max(1, done - done_then)
        timing = f"{per_iteration:.3g} s/it  ETA {_duration(per_iteration * max(0, self.total - done))}"
        rows, batched = _rows(terms)
        stream = self.stream or sys.stderr
        for index, row in enumerate(rows):
            label = f"{self.label}[{index}]" if batched else self.label
            losses = " ".join(f"{name}={value:.4f}" for name, value in zip(self.names, row))
            print(f"{label} {done}/{self.total}  {losses}  {timing}", file=stream, flush=True)
        return True


class LossStream:
    """Appends each iteration's loss terms to CSV files while a run goes (`with` it around the loop).

    `paths`: one CSV per run (None: that run keeps none); terms of shape (T,) go to the one file,
    (B, T) row i to file i. Columns `iteration`, then `names`: the same text as the loss CSV
    `outputs.save_result` writes at the end. Rows are written and flushed at the first iteration,
    every `interval` seconds, and on leaving the `with` block, also by an exception (Ctrl-C): a
    killed run leaves the rows of the iterations it did. These are partial files by name
    (`outputs.partial_loss_csv_path`); the finished curve is written atomically beside them.
    """

    def __init__(self, paths: Sequence[str | Path | None], names: Sequence[str], *, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.paths = [None if path is None else Path(path) for path in paths]
        self.header = ["iteration", *names]
        self.interval = interval_from_environment() if interval is None else interval
        self.clock = clock
        self._files: list[TextIO | None] = []
        self._pending: list[tuple[int, object]] = []
        self._last_flush: float | None = None

    def __enter__(self) -> LossStream:
        try:
            for path in self.paths:
                self._files.append(None if path is None else self._open(path))
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            self.flush()
        except Exception:
            if kind is None:
                raise  # the run itself went well: a failed write is this run's error
            # else keep the run's own error (e.g. a failed device, which cannot give its last rows)
        finally:
            self._close()
        return False

    def update(self, iteration: int, terms) -> None:
        """Keep `terms` of `iteration`; write what is kept if a flush is due."""
        if not any(self._files):
            return
        self._pending.append((iteration, terms))
        now = self.clock()
        if self._last_flush is None or now - self._last_flush >= self.interval:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        if not self._pending or not any(self._files):
            return
        values = torch.stack([torch.as_tensor(terms) for _, terms in self._pending]).tolist()  # one sync
        writers = [None if file is None else csv.writer(file) for file in self._files]
        for (iteration, _), row in zip(self._pending, values):
            rows, _ = _rows(row)
            for writer, pair_row in zip(writers, rows):
                if writer is not None:
                    writer.writerow([iteration, *pair_row])
        self._pending.clear()
        for file in self._files:
            if file is not None:
                file.flush()

    def _open(self, path: Path) -> TextIO:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file = open(path, "w", newline="")  # csv's own "\r\n" line ends, as save_result's
        except OSError as err:
            raise OutputError(path, f"cannot be written ({err.strerror or err})",
                              "choose another output path, or move what is there away") from None
        csv.writer(file).writerow(self.header)
        file.flush()
        return file

    def _close(self) -> None:
        for file in self._files:
            if file is not None:
                file.close()
