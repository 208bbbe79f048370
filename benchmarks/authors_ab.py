"""Ours against the authors' DTP code, in one run on this machine, for several of our settings.

    export YARD=/some/scratch        # built once by ../shared/yardstick/setup.sh (its README)
    python benchmarks/authors_ab.py --iterations 8 --rounds 2 \\
        --variant 'default:' \\
        --variant 'bf16: --set precision="bf16"'

A variant is `NAME: [ENV=VALUE ...] [--set KEY=VALUE ...]`: environment variables and `dtp stylize
--set` overrides. Each round runs the authors' code once and every variant once, in that order, so
the sides alternate and share the machine's slow and fast minutes. Both sides: DPST pair 1, 256x256,
2 threads, seed 1006, the yardstick's VGG-19 stand-in weights (the same tensors on both sides); the
authors' side through the yardstick's `official.sh`, ours through its `run_ours.py` (the same
per-iteration logger). Prints, per side, the median s/iteration after 2 warm-up iterations of each
run (pooled over the rounds), peak RSS (`/usr/bin/time -v`), and the ratio authors/ours, with the
CPU model and flags. Runs go to $YARD/ab/<time>/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
YARDSTICK = REPO.parent / "shared" / "yardstick"
sys.path[:0] = [str(REPO), str(YARDSTICK)]

import summarize  # noqa: E402  (the yardstick's: per-iteration durations, medians)

from dtp_core.devices import cpu_model_and_flags  # noqa: E402

AUTHORS = "authors"


def parse_variant(text: str) -> tuple[str, dict, list[str]]:
    name, _, rest = text.partition(":")
    env, overrides, tokens = {}, [], shlex.split(rest)
    while tokens:
        token = tokens.pop(0)
        if token == "--set" and tokens:
            overrides += ["--set", tokens.pop(0)]
        elif "=" in token and not token.startswith("-"):
            key, _, value = token.partition("=")
            env[key] = value
        else:
            raise SystemExit(f"--variant {text!r}: {token!r} is neither ENV=VALUE nor --set KEY=VALUE")
    return name.strip(), env, overrides


def run_authors(yard: Path, iterations: int, out: Path) -> None:
    subprocess.run([str(YARDSTICK / "official.sh"), str(iterations), str(out)], check=True,
                   env={**os.environ, "YARD": str(yard), "SAMPLE_FREQ": "1000000000"}, stdout=subprocess.DEVNULL)


def run_ours(yard: Path, iterations: int, out: Path, env: dict, overrides: list[str]) -> None:
    """What the yardstick's ours.sh runs, with the variant's environment and `--set`s added."""
    out.mkdir(parents=True, exist_ok=True)
    data = yard / "data" / "pair_dpst1"
    command = ["/usr/bin/time", "-v", "-o", str(out / "time_v.txt"), sys.executable, str(YARDSTICK / "run_ours.py"),
               "stylize", str(data / "content" / "in1.png"), str(data / "style" / "tar1.png"), "-o", str(out / "ours.png"),
               "--overwrite", "--preset", "dtp_lc1_5", "--size", "256", "--iterations", str(iterations), "--seed", "1006",
               "--device", "cpu", "--backbone", "vgg19", "--weights", str(yard / "vgg19_standin.pth"), "--snapshots",
               "none", *overrides]
    run_env = {**os.environ, "TORCH_HOME": str(yard / "torch_home"), "DTP_OFFLINE": "1", "OMP_NUM_THREADS": "2",
               "MKL_NUM_THREADS": "2", "DTP_THREADS": "2", "DTP_LOG": str(out / "iters.jsonl"), **env}
    (out / "iters.jsonl").unlink(missing_ok=True)
    with open(out / "stderr.txt", "w") as log:
        subprocess.run(command, check=True, env=run_env, stdout=log, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yard", type=Path, default=os.environ.get("YARD"), help="the yardstick's folder ($YARD)")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", required=True, help="NAME: [ENV=VALUE ...] [--set KEY=VALUE ...]")
    args = parser.parse_args()
    if args.yard is None or not (args.yard / "vgg19_standin.pth").is_file():
        raise SystemExit("set --yard (or $YARD) to a folder built by ../shared/yardstick/setup.sh")
    variants = [parse_variant(text) for text in args.variant]
    root = args.yard / "ab" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    print(f"CPU: {cpu_model_and_flags()}; 2 threads; runs in {root}", flush=True)
    runs: dict[str, list[Path]] = {AUTHORS: [], **{name: [] for name, _, _ in variants}}
    for round_ in range(1, args.rounds + 1):
        out = root / f"{round_}_{AUTHORS}"
        run_authors(args.yard, args.iterations, out)
        runs[AUTHORS].append(out)
        for name, env, overrides in variants:
            out = root / f"{round_}_{name}"
            run_ours(args.yard, args.iterations, out, env, overrides)
            runs[name].append(out)
        print(f"round {round_} done", flush=True)
    medians = {}
    print(f"\n| side | settings | s/iteration (median, n) | peak RSS | authors / this |\n|---|---|---|---|---|")
    for (name, folders), spec in zip(runs.items(), [None, *variants]):
        after, peaks = [], []
        for folder in folders:
            durations, _, hwm, complete = summarize.durations(str(folder))
            if not complete:
                raise SystemExit(f"{folder}: the run did not finish (see its stderr.txt)")
            after += [seconds for i, seconds in durations if i >= summarize.WARMUP]
            peaks.append(summarize.time_v(str(folder)).get("maxrss_kb") or hwm)
        stats = summarize.stats(after)
        medians[name] = stats["median"]
        settings = "the authors' code" if spec is None else " ".join(
            [f"{k}={v}" for k, v in spec[1].items()] + spec[2][1::2]) or "defaults"
        ratio = "" if name == AUTHORS else f"{medians[AUTHORS] / stats['median']:.2f}x"
        print(f"| {name} | {settings} | {stats['median']:.2f} (n={stats['n']}) | {max(peaks) / 2**20:.2f} GiB | {ratio} |")


if __name__ == "__main__":
    main()
