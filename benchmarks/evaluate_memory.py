"""Peak memory and wall time of the evaluate stage's processes, every metric enabled, PieAPP included:
what the SLURM profile's `evaluate` / `evaluate_batch` memory request rests on.

    python benchmarks/evaluate_memory.py                          # 64, 256, 512 px; a batch of 4 rounds
    python benchmarks/evaluate_memory.py --sizes 64 1024 --rounds 2

A Reinhard output of a CelebA-HQ demo pair (the local mirror) at each size is scored (a) alone, one
process each, as `python -m dtp_bench.metrics.evaluate` runs it, and (b) all sizes, ROUNDS times over,
by one process through `evaluate_batch_job`, as an `evaluate_batch` job runs them. Each process's
peak RSS comes from the kernel (`os.wait4`). PieAPP's weights are read where `metrics.pieapp`
finds them; where they are absent (this project's machines) a file of PieAPP's exact architecture
and shapes with random values stands in: its scores are meaningless, its memory is the real one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_core.devices import cpu_model_and_flags  # noqa: E402
from dtp_core.errors import MethodUnavailable  # noqa: E402
from dtp_core.images import load_image, resize, save_png  # noqa: E402

PAIR = REPO.parent / "shared/data/celebahq/celebamask-hq-demo"
EVERY_METRIC = ["ssim", "pieapp", "lpips", "gram", "histogram"]


def pieapp_weights(folder: Path) -> tuple[Path, str]:
    """The real PieAPP weights, or a stand-in of their shapes, and which one it is."""
    from dtp_bench.metrics import pieapp
    try:
        return pieapp.weights_path(), "the real PieAPP weights"
    except MethodUnavailable:
        import torch
        from piq.pieapp import PieAPPModel
        path = folder / "pieapp_shapes.pth"
        torch.save(PieAPPModel().state_dict(), path)
        return path, "a stand-in of PieAPP's shapes, random values (memory only)"


def measured(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one child process, which must succeed."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{child.stderr.read()}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started  # ru_maxrss: KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--rounds", type=int, default=4, help="times the batch process scores every size")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evaluate_memory."))
    weights, which = pieapp_weights(work)
    settings = {"enabled": EVERY_METRIC, "pieapp": {"weights": str(weights)}}
    jobs = []
    for size in args.sizes:
        for role, name in (("content", "0.jpg"), ("style", "1.jpg")):
            save_png(work / f"{role}{size}.png", resize(load_image(PAIR / name), (size, size)))
        subprocess.run([sys.executable, "-m", "dtp_bench.stylize_job", "--method", "reinhard", "--content",
                        str(work / f"content{size}.png"), "--style", str(work / f"style{size}.png"),
                        "--out", str(work / f"out{size}.png")], cwd=REPO, check=True, capture_output=True)
        jobs.append({"sidecar": str(work / f"out{size}.json"), "dataset": "celeba-hq", "method": "reinhard",
                     "pair_id": f"demo-{size}"})

    print(f"CPU: {cpu_model_and_flags()}, {os.cpu_count()} cores; metrics {', '.join(EVERY_METRIC)}; "
          f"PieAPP: {which}\n\n| process | outputs | peak RSS (MiB) | wall (s) |\n|---|---|---|---|")
    for size, job in zip(args.sizes, jobs):
        rss, seconds = measured([sys.executable, "-m", "dtp_bench.metrics.evaluate", "--sidecar", job["sidecar"],
                                 "--out", str(work / f"alone{size}.json"), "--dataset", "celeba-hq", "--method",
                                 "reinhard", "--pair-id", job["pair_id"], "--settings", json.dumps(settings)])
        print(f"| one output, {size}x{size} | 1 | {rss:.0f} | {seconds:.1f} |")
    batch = [{**job, "out": str(work / f"batch{round_}-{job['pair_id']}.json")}
             for round_ in range(args.rounds) for job in jobs]
    script = ("import json, sys; from dtp_bench.metrics.jobs import evaluate_batch_job; "
              "evaluate_batch_job(json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3])")
    rss, seconds = measured([sys.executable, "-c", script, json.dumps(batch), json.dumps(settings),
                             str(work / "batch.log")])
    sizes = "/".join(str(size) for size in args.sizes)
    print(f"| one batch ({sizes} px, {args.rounds} times) | {len(batch)} | {rss:.0f} | {seconds:.1f} |")
    print(f"\nfiles: {work}")


if __name__ == "__main__":
    main()
