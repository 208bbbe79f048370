"""Long work speaks: progress lines off a terminal, and a loss curve that grows while a run goes."""

import csv
import io
import json
import re
import signal

import pytest
import torch

from dtp_core import outputs, trainer
from dtp_core.batched import stylize_many
from dtp_core.config import DTPConfig
from dtp_core.errors import ConfigError
from dtp_core.images import load_pair, save_png
from dtp_core.progress import DEFAULT_INTERVAL, INTERVAL_VARIABLE, LossStream, ProgressLines, \
    interval_from_environment, lines_wanted

NAMES = trainer.LOSS_TERMS
TINY = dict(size=32, snapshots=())
# label, iterations done/planned, the four terms, seconds per iteration, ETA
LINE = re.compile(r"^(DTP(?: x\d+\[\d+\])?) (\d+)/(\d+)  total=\S+ content=\S+ style=\S+ cycle=\S+  \S+ s/it  "
                  r"ETA \d+:\d\d:\d\d$")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _progress(err: str) -> list[tuple[str, int, int]]:
    """(label, done, planned) of every progress line; any other line is left out."""
    return [(m[1], int(m[2]), int(m[3])) for m in map(LINE.match, err.splitlines()) if m]


@pytest.fixture(scope="module")
def pair32(dpst_pair):
    return load_pair(*dpst_pair, size=32)


def test_lines_at_the_first_every_interval_and_the_last_iteration():
    clock, stream = FakeClock(), io.StringIO()
    lines = ProgressLines(10, NAMES, interval=60, stream=stream, clock=clock)
    printed = []
    for iteration in range(10):
        clock.now += 10.0  # ten seconds an iteration
        if lines.update(iteration, torch.tensor([1.15071, 1.71349, 0.28812, 0.57749])):
            printed.append(iteration)
    assert printed == [0, 6, 9]  # the first; 60 s after it; the last
    assert stream.getvalue().splitlines() == [
        "DTP 1/10  total=1.1507 content=1.7135 style=0.2881 cycle=0.5775  10 s/it  ETA 0:01:30",
        "DTP 7/10  total=1.1507 content=1.7135 style=0.2881 cycle=0.5775  10 s/it  ETA 0:00:30",
        "DTP 10/10  total=1.1507 content=1.7135 style=0.2881 cycle=0.5775  10 s/it  ETA 0:00:00",
    ]


def test_seconds_per_iteration_is_the_mean_since_the_previous_line_and_eta_uses_it():
    clock, stream = FakeClock(), io.StringIO()
    lines = ProgressLines(1000, NAMES, interval=60, stream=stream, clock=clock)
    clock.now = 30.0  # a slow first iteration (start-up)
    lines.update(0, [1.0, 2.0, 3.0, 4.0])
    for iteration in range(1, 121):
        clock.now += 0.5
        lines.update(iteration, [1.0, 2.0, 3.0, 4.0])
    assert stream.getvalue().splitlines()[-1] == \
        "DTP 121/1000  total=1.0000 content=2.0000 style=3.0000 cycle=4.0000  0.5 s/it  ETA 0:07:20"
    assert stream.getvalue().splitlines()[0].endswith("30 s/it  ETA 8:19:30")


def test_a_run_that_stops_early_says_so_and_a_batch_gets_one_line_per_pair():
    clock, stream = FakeClock(), io.StringIO()
    lines = ProgressLines(1000, NAMES, "DTP x2", interval=3600, stream=stream, clock=clock)
    terms = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    assert lines.update(0, terms) and not lines.update(1, terms) and lines.update(2, terms, last=True)
    assert [line.split("  ")[0] for line in stream.getvalue().splitlines()] == \
        ["DTP x2[0] 1/1000", "DTP x2[1] 1/1000", "DTP x2[0] 3/1000", "DTP x2[1] 3/1000"]
    assert "total=5.0000 content=6.0000 style=7.0000 cycle=8.0000" in stream.getvalue().splitlines()[1]


def test_interval_zero_prints_every_iteration_and_disabled_prints_nothing():
    stream = io.StringIO()
    every = ProgressLines(3, NAMES, interval=0, stream=stream, clock=FakeClock())
    assert all(every.update(i, [0.0] * 4) for i in range(3))
    silent = ProgressLines(3, NAMES, interval=0, stream=stream, clock=FakeClock(), enabled=False)
    assert not any(silent.update(i, [0.0] * 4) for i in range(3))
    assert len(stream.getvalue().splitlines()) == 3


def test_the_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(INTERVAL_VARIABLE, raising=False)
    assert interval_from_environment() == DEFAULT_INTERVAL == 60
    monkeypatch.setenv(INTERVAL_VARIABLE, "2.5")
    assert interval_from_environment() == 2.5 and ProgressLines(5, NAMES).interval == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv(INTERVAL_VARIABLE, bad)
        with pytest.raises(ConfigError, match=f"{INTERVAL_VARIABLE}: must be a number of seconds >= 0"):
            interval_from_environment()


def test_progress_keeps_its_meaning_lines_only_for_none_off_a_terminal():
    off, on = io.StringIO(), Terminal()
    assert lines_wanted(None, off) and not lines_wanted(None, on)  # a terminal keeps tqdm's bar
    assert not lines_wanted(True, off) and not lines_wanted(False, off)  # True: the bar; False: silence


def test_loss_stream_writes_at_the_first_every_interval_and_at_the_end(tmp_path):
    clock, path = FakeClock(), tmp_path / "out.loss.partial.csv"
    rows, written = [], []
    with LossStream([path], NAMES, interval=60, clock=clock) as stream:
        assert path.read_bytes() == b"iteration,total,content,style,cycle\r\n"  # the header at once
        for iteration in range(11):
            clock.now += 20.0  # twenty seconds an iteration
            terms = torch.tensor([iteration, 1.0, 2.0, 3.0]) / 3
            rows.append(dict(iteration=iteration, **dict(zip(NAMES, terms.tolist()))))
            stream.update(iteration, terms)
            written.append(len(path.read_text().splitlines()) - 1)
    assert written == [1, 1, 1, 4, 4, 4, 7, 7, 7, 10, 10]  # at the first iteration, then each 60 s
    assert path.read_bytes() == outputs._csv(rows).encode()  # the rest on leaving: save_result's curve, to the byte


def test_loss_stream_without_a_path_writes_nothing(tmp_path):
    with LossStream([None], NAMES, clock=FakeClock()) as stream:
        stream.update(0, torch.ones(4))
    assert list(tmp_path.iterdir()) == []


def test_a_tiny_run_off_a_terminal_prints_progress_and_grows_its_loss_curve(pair32, resolved_weights, capsys,
                                                                            monkeypatch, tmp_path):
    monkeypatch.setenv(INTERVAL_VARIABLE, "3600")
    out = tmp_path / "x.png"
    result = trainer.stylize(*pair32, config=DTPConfig(iterations=3, **TINY), device="cpu", resolved=resolved_weights,
                             progress=None, loss_log=outputs.partial_loss_csv_path(out))
    err = capsys.readouterr().err
    assert _progress(err) == [("DTP", 1, 3), ("DTP", 3, 3)], err  # the first and the last line
    assert "\r" not in err  # no bar
    partial = outputs.partial_loss_csv_path(out)
    grown = partial.read_bytes()
    outputs.save_result(result, out)
    assert outputs.loss_csv_path(out).read_bytes() == grown  # the grown curve is the finished one, to the byte
    assert not partial.exists()  # and the finished one replaced it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.loss.csv", "x.png", "x.warped.png"]


def test_a_run_that_stops_early_prints_its_last_line(pair32, resolved_weights, capsys, monkeypatch):
    monkeypatch.setenv(INTERVAL_VARIABLE, "3600")
    monkeypatch.setattr(trainer, "should_stop", lambda history, config: len(history) == 2)
    result = trainer.stylize(*pair32, config=DTPConfig(iterations=5, **TINY), device="cpu", resolved=resolved_weights,
                             progress=None)
    assert result.facts["stopped_early"] and _progress(capsys.readouterr().err) == [("DTP", 1, 5), ("DTP", 2, 5)]


def test_progress_false_stays_silent(pair32, resolved_weights, capsys, monkeypatch):
    monkeypatch.setenv(INTERVAL_VARIABLE, "0")
    trainer.stylize(*pair32, config=DTPConfig(iterations=2, **TINY), device="cpu", resolved=resolved_weights,
                    progress=False)
    assert capsys.readouterr().err == ""


def test_the_batch_prints_a_line_per_pair_and_grows_a_curve_per_pair(pair32, resolved_weights, capsys, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv(INTERVAL_VARIABLE, "3600")
    logs = [tmp_path / "a.loss.partial.csv", None]
    results = stylize_many([pair32[0], pair32[1]], [pair32[1], pair32[0]], config=DTPConfig(iterations=2, **TINY),
                           device="cpu", resolved=resolved_weights, progress=None, loss_logs=logs)
    assert _progress(capsys.readouterr().err) == [("DTP x2[0]", 1, 2), ("DTP x2[1]", 1, 2),
                                                  ("DTP x2[0]", 2, 2), ("DTP x2[1]", 2, 2)]
    assert logs[0].read_bytes() == outputs._csv(results[0].losses).encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.loss.partial.csv"]


def _job_files(tmp_path, pair):
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    save_png(content, pair[0])
    save_png(style, pair[1])
    return content, style, tmp_path / "out" / "1.png"


def test_an_interrupted_job_leaves_the_iterations_done_and_no_sidecar(pair32, tmp_path, monkeypatch, capsys):
    from dtp_bench.stylize_job import run_job

    monkeypatch.setenv(INTERVAL_VARIABLE, "3600")  # only the end of the run writes after iteration 0
    content, style, out = _job_files(tmp_path, pair32)
    real_step, calls = trainer.train_step, []

    def interrupted_at_iteration_3(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C, or SIGTERM as the job turns it
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_step", interrupted_at_iteration_3)
    with pytest.raises(KeyboardInterrupt):
        run_job("dtp_lc1_5", content, style, out, params={"iterations": 10, "snapshots": []}, device="cpu")
    rows = list(csv.DictReader(outputs.partial_loss_csv_path(out).open()))
    assert [int(row["iteration"]) for row in rows] == [0, 1, 2]
    assert set(rows[0]) == {"iteration", *NAMES} and all(float(row["total"]) > 0 for row in rows)
    assert sorted(p.name for p in out.parent.iterdir()) == ["1.loss.partial.csv"]  # no sidecar, no image
    err = capsys.readouterr().err
    assert _progress(err) == [("DTP", 1, 10)] and f"the loss curve so far is in {out.parent}" in err


def test_the_workflow_job_writes_progress_lines_into_its_log(pair32, tmp_path, monkeypatch, capsys):
    """The stylize rule's command line (workflow/rules/stylize.smk), its stderr the job's log."""
    from dtp_bench.stylize_job import main

    monkeypatch.setenv(INTERVAL_VARIABLE, "3600")
    content, style, out = _job_files(tmp_path, pair32)
    threads, on_sigterm = torch.get_num_threads(), signal.getsignal(signal.SIGTERM)
    try:
        code = main(["--method", "dtp_lc1_5", "--content", str(content), "--style", str(style), "--out", str(out),
                     "--params", json.dumps({"iterations": 3, "snapshots": []}), "--device", "cpu", "--threads", "1",
                     "--dataset", "photo-r", "--pair-id", "1"])
    finally:
        torch.set_num_threads(threads)
        signal.signal(signal.SIGTERM, on_sigterm)
    log = capsys.readouterr().err
    assert code == 0 and "dtp_lc1_5 photo-r/1: ok" in log, log
    assert _progress(log) == [("DTP", 1, 3), ("DTP", 3, 3)], log
    assert json.loads(out.with_suffix(".json").read_text())["files"]["loss_curve"] == "1.loss.csv"
    assert not outputs.partial_loss_csv_path(out).exists()  # the finished curve replaced it
