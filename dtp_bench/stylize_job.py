"""One stylisation job: (method, content, style) -> OUT.png + OUT.json sidecar (+ curves).

    python -m dtp_bench.stylize_job --method dtp_lc1_5 --content C.png --style S.png --out OUT.png \
        [--params '{"iterations": 100}'] [--device auto] [--dataset photo-r --pair-id 12] \
        [--attempt 1 --attempts 3] [--retry-of TOKEN]

Outcomes, all recorded in the sidecar so that the tables can say what happened to every cell:
- ok: the image and its facts;
- unavailable: the method needs a file that is absent (`MethodUnavailable`), with the reason;
- failed: the method raised (e.g. out of memory), with the reason; the job still exits 0 so that
  the rest of the benchmark finishes.
An interrupted job (Ctrl-C, SIGTERM, a lost node) writes nothing that looks finished.

Trying again (docs/refusals.md, "Reruns: nothing stale"): with ``--attempt N --attempts M`` (the
workflow passes Snakemake's attempt and 1 + `--retries`), a failure while attempts remain writes no
sidecar and exits 1, so that Snakemake runs the job again; the last attempt records `failed` and
exits 0. `unavailable` is recorded at once: another attempt cannot make a file appear. A failed
cell is also planned again by the next workflow run: `retry_token` is part of the job's params.

The log (stderr) gets a progress line at least once a minute (`dtp_core.progress`), and a method
that can (DTP) appends its loss curve to OUT.loss.partial.csv as it goes: a killed job shows how far
it got.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import signal
import sys
import traceback
from pathlib import Path

from dtp_core.errors import ConfigError, MethodUnavailable, exit_status
from dtp_core.images import load_image, to_tensor
from dtp_core.outputs import partial_loss_csv_path, save_result, save_status
from dtp_core.progress import interval_from_environment

from . import methods
from .gpu_claim import claim_device


def run_job(method: str, content_path: Path, style_path: Path, out_png: Path, *, params: dict | None = None,
            device: str = "auto", context: dict | None = None, progress: bool | None = None,
            last_attempt: bool = True) -> dict:
    """One pair: its sidecar (ok, unavailable or failed). `progress`: None prints progress lines
    when stderr is not a terminal (the workflow's log), False nothing. Not `last_attempt`: a failure
    raises `AttemptFailed` instead of being recorded."""
    spec = methods.get(method)
    [(content, style)], config, [context] = _prepare(spec, [(content_path, style_path)], params, [context or {}])
    streams = {"loss_log": partial_loss_csv_path(out_png)} if _takes(spec.stylize, "loss_log") else {}
    run = lambda: [spec.stylize(content, style, config=config, device=device, seed=getattr(config, "seed", None),
                                progress=progress, **streams)]
    return _record(run, [out_png], [context], last_attempt)[0]


def run_batch_job(method: str, pairs: list[tuple[Path, Path, Path]], *, params: dict | None = None,
                  device: str = "auto", contexts: list[dict] | None = None, last_attempt: bool = True) -> list[dict]:
    """Several (content, style, out_png) of one method trained as one computation (`batch_pairs` > 1).

    All or nothing: every pair's sidecar says ok, or every one says failed / unavailable.
    """
    spec = methods.get(method)
    if spec.stylize_many is None:
        raise ConfigError("batch_pairs", f"method {method!r} cannot train several pairs at once", "use batch_pairs: 1")
    images, config, contexts = _prepare(spec, [(c, s) for c, s, _ in pairs], params, contexts or [{} for _ in pairs])
    outs = [out for _, _, out in pairs]
    run = lambda: spec.stylize_many([c for c, _ in images], [s for _, s in images], config=config, device=device,
                                    progress=None, loss_logs=[partial_loss_csv_path(out) for out in outs])
    return _record(run, outs, contexts, last_attempt)


def _takes(function, argument: str) -> bool:
    """Whether a method's `stylize` accepts `argument` (DTP streams its loss curve; baselines don't)."""
    return argument in inspect.signature(function).parameters


def _prepare(spec, paths, params, contexts):
    """The images, the method's config (with the size it really gets) and each pair's sidecar context."""
    images = [(to_tensor(load_image(c)), to_tensor(load_image(s))) for c, s in paths]
    config = _with_input_size(spec.make_config(params or {}), images[0][0].shape[-2:])
    # content_file, style_file and job_params: what the workflow compares before it would replace this
    # output (dtp_bench/output_guard.py)
    contexts = [{"method": spec.name, "method_kind": spec.kind, "content_file": str(c), "style_file": str(s),
                 "job_params": dict(params or {}), **ctx} for (c, s), ctx in zip(paths, contexts)]
    return images, config, contexts


class AttemptFailed(Exception):
    """The method failed and Snakemake has attempts left: nothing is recorded, the job exits 1."""


def _record(run, outs: list[Path], contexts: list[dict], last_attempt: bool = True) -> list[dict]:
    """Run, then write each output's files and sidecar; a failure or a missing file is recorded instead
    (a failure only on the last attempt: before it, `AttemptFailed`)."""
    try:
        results = run()
    except MethodUnavailable as err:  # another attempt cannot make the file appear: recorded at once
        return [save_status(out, "unavailable", str(err), ctx) for out, ctx in zip(outs, contexts)]
    except (KeyboardInterrupt, SystemExit):
        for partial in map(partial_loss_csv_path, outs):
            if partial.exists():
                print(f"stylize_job: no result; the loss curve so far is in {partial}", file=sys.stderr)
        raise
    except Exception as err:  # out of memory, numerical failure, a bug: the cell says so
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        failure = {"traceback": traceback.format_exc(limit=8)}
        if not last_attempt:
            raise AttemptFailed(f"{reason}\n{failure['traceback']}") from err
        return [save_status(out, "failed", reason, {**ctx, **failure}) for out, ctx in zip(outs, contexts)]
    return [save_result(result, out, extra_facts=ctx) for result, out, ctx in zip(results, outs, contexts)]


def retry_token(sidecars: list[str | os.PathLike]) -> str:
    """What a job's params carry so that a `failed` cell is planned again by the next workflow run.

    Snakemake records a job's params when it finishes and reruns the job when they differ. While
    one of the job's sidecars says failed, the token names that failure (the sidecar's mtime: new
    with every failure), so it differs from what was recorded and the job is planned again. The
    retry passes the token on (`--retry-of`) and its sidecars record it as `retry_of`: afterwards
    the token is read back from there, equals the recorded one, and nothing reruns. "" for a job
    that never failed (or whose sidecars are absent: it runs anyway).
    """
    failures, retried = [], ""
    for path in map(Path, sidecars):
        try:
            sidecar = json.loads(path.read_text())
            failed = sidecar.get("status") == "failed"
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError):  # unreadable: no trustworthy record either
            failed, sidecar = True, {}
        if failed:
            failures.append(path.stat().st_mtime_ns)
        retried = retried or sidecar.get("retry_of", "")
    return f"after the failure recorded at {max(failures)} ns" if failures else retried


def _with_input_size(config, shape):
    """The workflow resizes images beforehand: a config's `size` must say what the method really got."""
    height, width = shape
    if dataclasses.is_dataclass(config) and "size" in {f.name for f in dataclasses.fields(config)} \
            and getattr(config, "size") != max(height, width):
        changes = {"size": max(height, width)}
        if "keep_aspect" in {f.name for f in dataclasses.fields(config)}:
            changes["keep_aspect"] = height != width
        config = dataclasses.replace(config, **changes)
    return config


def _terminate(signum, frame):  # SIGTERM (scancel, a killed job) -> the same clean exit as Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", required=True)
    # Repeated (equally often) for a batch of pairs trained as one computation (batch_pairs > 1).
    parser.add_argument("--content", required=True, type=Path, action="append")
    parser.add_argument("--style", required=True, type=Path, action="append")
    parser.add_argument("--out", required=True, type=Path, action="append")
    parser.add_argument("--params", default="{}", help="JSON object of method parameters")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--dataset")
    parser.add_argument("--pair-id", action="append")
    parser.add_argument("--attempt", type=int, default=1, help="this attempt (Snakemake's, from 1)")
    parser.add_argument("--attempts", type=int, default=1,
                        help="how many attempts Snakemake makes (1 + --retries): a failure before the last exits 1")
    parser.add_argument("--retry-of", default="", help="the failure this run retries (`retry_token`), recorded")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    return exit_status(lambda: _run(args), "stylize_job")


def _run(args: argparse.Namespace) -> int:
    params = json.loads(args.params)
    pair_ids = args.pair_id or [None] * len(args.content)
    if not len(args.content) == len(args.style) == len(args.out) == len(pair_ids):
        raise ConfigError("--content/--style/--out/--pair-id", "must be given equally often")
    label = f"{args.method} {args.dataset}/{','.join(map(str, pair_ids))}"
    interval_from_environment()  # a bad DTP_PROGRESS_INTERVAL stops the job (status 2), not as a failed cell
    # its own GPU among the `--resources gpu=N` jobs, or the CPU with a note when there is none
    with claim_device(args.device, wanted=methods.get(args.method).needs_gpu) as claim:
        if claim.note:
            print(f"stylize_job: {claim.note}", file=sys.stderr)
        attempt = f" (attempt {args.attempt} of {args.attempts})" if args.attempts > 1 else ""
        print(f"stylize_job: {label} started on {claim.device}{attempt}", file=sys.stderr, flush=True)
        retry = {**({"attempt": args.attempt, "attempts": args.attempts} if args.attempts > 1 else {}),
                 **({"retry_of": args.retry_of} if args.retry_of else {})}
        contexts = [{"dataset": args.dataset, "pair_id": pair, "device_note": claim.note, **retry} for pair in pair_ids]
        last = args.attempt >= args.attempts
        try:
            if len(args.content) == 1:
                sidecars = [run_job(args.method, args.content[0], args.style[0], args.out[0], params=params,
                                    device=claim.device, context=contexts[0], last_attempt=last)]
            else:
                sidecars = run_batch_job(args.method, list(zip(args.content, args.style, args.out)), params=params,
                                         device=claim.device, contexts=contexts, last_attempt=last)
        except AttemptFailed as err:
            print(f"stylize_job: {label}: attempt {args.attempt} of {args.attempts} failed, nothing recorded; "
                  f"Snakemake runs it again: {err}", file=sys.stderr)
            return 1
    for pair, sidecar in zip(pair_ids, sidecars):
        print(f"{args.method} {args.dataset}/{pair}: {sidecar['status']} {sidecar.get('reason', '')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
