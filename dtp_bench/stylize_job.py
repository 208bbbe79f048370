"""One stylisation job: (method, content, style) -> OUT.png + OUT.json sidecar (+ curves).

    python -m dtp_bench.stylize_job --method dtp_lc1_5 --content C.png --style S.png --out OUT.png \
        [--params '{"iterations": 100}'] [--device auto] [--dataset photo-r --pair-id 12]

Outcomes, all recorded in the sidecar so that the tables can say what happened to every cell:
- ok: the image and its facts;
- unavailable: the method needs a file that is absent (`MethodUnavailable`), with the reason;
- failed: the method raised (e.g. out of memory), with the reason; the job still exits 0 so that
  the rest of the benchmark finishes. Delete the sidecar (or `--forcerun`) to retry.
An interrupted job (Ctrl-C, SIGTERM, a lost node) writes nothing that looks finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import traceback
from pathlib import Path

from dtp_core.errors import MethodUnavailable, exit_status
from dtp_core.images import load_image, to_tensor
from dtp_core.outputs import save_result, save_status

from . import methods
from .gpu_claim import claim_device


def run_job(method: str, content_path: Path, style_path: Path, out_png: Path, *, params: dict | None = None,
            device: str = "auto", context: dict | None = None, progress: bool | None = False) -> dict:
    spec = methods.get(method)
    context = {"method": method, "method_kind": spec.kind, "content_file": str(content_path),
               "style_file": str(style_path), **(context or {})}
    content, style = to_tensor(load_image(content_path)), to_tensor(load_image(style_path))
    config = spec.make_config(params or {})
    config = _with_input_size(config, content.shape[-2:])
    try:
        result = spec.stylize(content, style, config=config, device=device, seed=getattr(config, "seed", None),
                              progress=progress)
    except MethodUnavailable as err:
        return save_status(out_png, "unavailable", str(err), context)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # out of memory, numerical failure, a bug: the cell says so
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        return save_status(out_png, "failed", reason, {**context, "traceback": traceback.format_exc(limit=8)})
    return save_result(result, out_png, extra_facts=context)


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
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--style", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--params", default="{}", help="JSON object of method parameters")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--dataset")
    parser.add_argument("--pair-id")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    return exit_status(lambda: _run(args), "stylize_job")


def _run(args: argparse.Namespace) -> int:
    params = json.loads(args.params)
    context = {"dataset": args.dataset, "pair_id": args.pair_id}
    # its own GPU among the `--resources gpu=N` jobs, or the CPU with a note when there is none
    with claim_device(args.device, wanted=methods.get(args.method).needs_gpu) as claim:
        if claim.note:
            print(f"stylize_job: {claim.note}", file=sys.stderr)
        print(f"stylize_job: {args.method} {args.dataset}/{args.pair_id} started on {claim.device}",
              file=sys.stderr, flush=True)
        sidecar = run_job(args.method, args.content, args.style, args.out, params=params, device=claim.device,
                          context={**context, "device_note": claim.note})
    print(f"{args.method} {args.dataset}/{args.pair_id}: {sidecar['status']} {sidecar.get('reason', '')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
