"""DTP speed and memory: seconds per iteration, peak memory, the split of an iteration, FLOPs.

    python benchmarks/speed.py                       # CPU, sizes 128 256 512
    python benchmarks/speed.py --device cuda --sizes 256 --iterations 30
    python benchmarks/speed.py --flops               # also count FLOPs and measure peak throughput
    python benchmarks/speed.py --device cuda --run 1000 --set precision='"bf16"'   # one whole run, wall clock
    python benchmarks/speed.py --batch 1 2 4 --sizes 64 --iterations 10            # pairs per hour vs B
    python benchmarks/speed.py --scaling docs/scaling.png --sizes 128 256 512 1024 --iterations 3
        # faithful (correlation on a 64x64 grid) against high resolution (full grid, streamed): table + plot
    python benchmarks/speed.py --scaling docs/scaling.png --sizes 256 --merge   # re-measure one size only

Each size runs in its own process, so that peak RSS is that size's alone. Seconds per iteration is
the median over the iterations after the first two (warm-up). The split times each part's forward
and backward on its own (encoder passes, correspondence + warps, decoder passes, losses, Adam);
its sum is close to, not equal to, a full iteration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_core import trainer  # noqa: E402
from dtp_core.backbone import VGGEncoder  # noqa: E402
from dtp_core.config import DTPConfig  # noqa: E402
from dtp_core.correspondence import correlate, correlation_grid, to_grid  # noqa: E402
from dtp_core.devices import cpu_model_and_flags  # noqa: E402
from dtp_core.images import normalize, to_tensor, resize  # noqa: E402
from dtp_core.losses import contrastive_loss, gather_patches, nearest_neighbour_style_loss  # noqa: E402
from dtp_core.records import peak_rss_mib  # noqa: E402
from dtp_core.reference import reference_forward  # noqa: E402


def demo_pair(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from skimage import data
    return tuple(to_tensor(resize(img, (size, size))) for img in (data.chelsea(), data.rocket()))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats=3) -> float:
    fn()  # warm-up
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_step(nets, optimizers, content, style, config, previous):
    """The plain path of dtp_core/reference.py (the authors' structure), for comparison."""
    step = reference_forward(nets, content, style, config, previous)
    trainer.descend(optimizers, step.total)
    return step.output_feature


def benchmark_networks(config: DTPConfig, device: torch.device) -> tuple[trainer.Networks, str]:
    """The networks of a run, set up by trainer.prepare_run as a run's are (the CPU's heap, CUDA's
    TF32 switches), so every script timing them times what ships. VGG-19 weights cannot be had
    here: timing needs only its shape, so a randomly initialised VGG-19 stands in when they are
    absent (said in the output)."""
    _, _, resolved = trainer.prepare_run(config, device, config.seed)
    nets = trainer.build_networks(config, resolved, device, config.seed)
    if resolved.backbone == config.backbone:
        return nets, resolved.backbone
    torch.manual_seed(config.seed)
    nets.encoder = trainer.as_run_needs(VGGEncoder(config.backbone), config, device)  # channels-last under bf16, as shipped
    return nets, f"{config.backbone} (random weights: timing only; {resolved.backbone} weights are what is here)"


def measure_one(size: int, device: torch.device, iterations: int, split: bool, config: DTPConfig,
                reference: bool = False) -> dict:
    content, style = (normalize(x.to(device)) for x in demo_pair(size))
    nets, backbone = benchmark_networks(config, device)
    optimizers = trainer.make_optimizers(nets, config)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, previous = [], None
    for _ in range(iterations):
        start = time.perf_counter()
        if reference:
            previous = reference_step(nets, optimizers, content, style, config, previous)
        else:
            previous = trainer.train_step(nets, optimizers, content, style, config, previous).output_feature
        sync(device)
        times.append(time.perf_counter() - start)
    result = {"size": size, "device": str(device), "threads": torch.get_num_threads(),
              "s_per_iter": statistics.median(times[2:] or times), "first_iter_s": times[0],
              "peak_rss_mib": peak_rss_mib(), "backbone": backbone}
    if device.type == "cuda":
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    if split:
        result["split"] = split_iteration(nets, optimizers, content, style, config, device)
    return result


def iteration_parts(nets, optimizers, content, style, config, device) -> dict:
    """Each part of an iteration as a function running its forward + backward on detached inputs."""
    enc = nets.encoder

    def encoder_passes():
        low = enc(torch.cat((content, style)), levels=3)
        high = enc(low[-1][1:], levels=5, from_level=3)
        out = enc(content.detach().clone().requires_grad_(True), levels=5)
        sum(f.mean() for f in low + high + out).backward()

    r3 = enc(content, levels=3)[-1].detach()
    grid = correlation_grid(*r3.shape[-2:], config.corr_size)  # as trainer.forward: the capped grid
    r3 = to_grid(r3, grid)
    pooled = F.adaptive_avg_pool2d(content, grid)

    def correspondence():
        fc, fs = r3.clone().requires_grad_(True), r3.flip(-1).clone().requires_grad_(True)
        m = correlate(fc, fs, temperature=config.tau_corr, kernel=config.corr_kernel, center=config.center)
        s2c = m.warp_to_content(torch.cat((fs, pooled), 1))
        c2s = m.warp_to_style(torch.cat((fc, pooled), 1))
        (m.warp_to_style(s2c).mean() + m.warp_to_content(c2s).mean() + s2c.mean()).backward()

    def decoder_passes():
        if nets.decoder is not None:
            nets.decoder(torch.randn(3, 256, *grid, device=device)).mean().backward()

    feats = [f.detach() for f in enc(content, levels=5)]

    def losses():
        g = torch.Generator().manual_seed(0)
        outs = [f.clone().requires_grad_(True) for f in feats]
        total = 0
        for i, f in enumerate(outs):
            ids = torch.randperm(f.shape[-2] * f.shape[-1], generator=g)[: config.num_patches]
            if i < 3:
                total = total + contrastive_loss(gather_patches(feats[i], ids), gather_patches(f, ids))
            k = config.style_kernels[i]
            total = total + nearest_neighbour_style_loss(gather_patches(feats[i].flip(-1), ids, k), gather_patches(f, ids, k))
        total.backward()

    def adam():
        for module in [nets.encoder] + ([nets.decoder] if nets.decoder else []):
            for p in module.parameters():
                p.grad = torch.zeros_like(p)
        for opt in optimizers:
            opt.step()

    return {"encoder (3 passes)": encoder_passes, "correspondence + warps": correspondence,
            "decoder (3 decodes, batched)": decoder_passes, "losses": losses, "adam": adam}


def split_iteration(nets, optimizers, content, style, config, device) -> dict:
    parts = iteration_parts(nets, optimizers, content, style, config, device)
    return {name: timed(fn, device) for name, fn in parts.items()}


def whole_run(size: int, device: torch.device, iterations: int, config: DTPConfig) -> dict:
    """Wall clock of one `stylize` call (set-up included), as a user sees it."""
    content, style = demo_pair(size)
    result = trainer.stylize(content, style, config=config.replace(size=size, iterations=iterations, snapshots=()),
                             device=device, progress=False)
    return {key: result.facts.get(key) for key in ("seconds", "seconds_per_iteration", "peak_rss_mib", "peak_gpu_mib")}


def batched_throughput(size: int, device: torch.device, iterations: int, batch: int, config: DTPConfig) -> dict:
    """Pairs per hour when `batch` pairs train as one computation (dtp_core.batched)."""
    from dtp_core.batched import stylize_many

    content, style = demo_pair(size)
    config = config.replace(size=size, iterations=iterations, snapshots=())
    start = time.perf_counter()
    stylize_many([content] * batch, [style] * batch, config=config, device=device, progress=False)
    sync(device)
    seconds = time.perf_counter() - start
    # extrapolated to the protocol's 1000 iterations from `iterations` (set-up included, so a lower bound)
    full_run = seconds * DTPConfig().iterations / iterations
    return {"batch": batch, "seconds": seconds, "pairs_per_hour": batch * 3600 / full_run,
            "peak_rss_mib": peak_rss_mib(),
            **({"peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20} if device.type == "cuda" else {})}


def count_flops(size: int, device: torch.device, config: DTPConfig) -> dict:
    """GFLOP of one full iteration (forward + backward) and of each part of it."""
    from torch.utils.flop_counter import FlopCounterMode

    def gflop(fn) -> float:
        counter = FlopCounterMode(display=False)
        with counter:
            fn()
        return counter.get_total_flops() / 1e9

    content, style = (normalize(x.to(device)) for x in demo_pair(size))
    nets, _ = benchmark_networks(config, device)
    optimizers = trainer.make_optimizers(nets, config)
    flops = {"full iteration": gflop(lambda: trainer.forward(nets, content, style, config, None).total.backward())}
    for name, fn in iteration_parts(nets, optimizers, content, style, config, device).items():
        flops[name] = gflop(fn)
    return flops


def peak_throughput(device: torch.device) -> dict:
    """Sustained fp32 GFLOP/s of the two shapes that dominate an iteration."""
    x = torch.randn(3, 256, 64, 64, device=device)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device)
    conv_flop = 2 * 3 * 256 * 256 * 9 * 64 * 64
    with torch.no_grad():
        conv_s = timed(lambda: conv(x), device, repeats=5)
    a, b = torch.randn(4096, 2304, device=device), torch.randn(2304, 4096, device=device)
    gemm_s = timed(lambda: a @ b, device, repeats=5)
    return {"conv3x3_gflops": conv_flop / conv_s / 1e9, "gemm_gflops": 2 * 4096 * 2304 * 4096 / gemm_s / 1e9}


def scaling_line(size: int, mode: str, row: dict) -> str:
    return f"| {size} | {mode} | {row['s_per_iter']:.2f} | {row['peak_rss_mib']:.0f} | {row.get('peak_gpu_mib', 0):.0f} |"


def plot_scaling(rows: dict, sizes: list[int], path: Path, device: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    memory_key = "peak_gpu_mib" if device.startswith("cuda") else "peak_rss_mib"
    fig, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    for mode in dict.fromkeys(mode for _, mode in rows):
        points = [(size, rows[(size, mode)]) for size in sizes if rows.get((size, mode))]
        xs = [size for size, _ in points]
        time_axis.plot(xs, [row["s_per_iter"] for _, row in points], marker="o", label=mode)
        memory_axis.plot(xs, [row[memory_key] / 1024 for _, row in points], marker="o", label=mode)
    for axis, label in ((time_axis, "seconds per iteration"), (memory_axis, f"peak {'GPU' if 'gpu' in memory_key else 'RSS'} GiB")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(sizes, [f"{s}x{s}" for s in sizes])
        axis.set_xlabel("input size")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3, which="both")
    time_axis.legend(fontsize=8)
    fig.suptitle(f"DTP per iteration on {device} ({torch.get_num_threads()} threads)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-split", action="store_true")
    parser.add_argument("--flops", action="store_true", help="count FLOPs (256) and measure peak throughput")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="DTPConfig override (JSON value)")
    parser.add_argument("--run", type=int, metavar="N", help="time one whole stylize run of N iterations per size")
    parser.add_argument("--batch", type=int, nargs="+", metavar="B", help="pairs per hour for these batch sizes")
    parser.add_argument("--scaling", type=Path, metavar="PNG", help="faithful vs high-resolution mode per size, plotted")
    parser.add_argument("--merge", action="store_true",
                        help="--scaling: keep the points of other sizes from the PNG's .json, measure only --sizes")
    parser.add_argument("--highres-grid", type=int, default=0,
                        help="--scaling: the high-resolution mode's correlation grid cap (0: the full level-3 map)")
    parser.add_argument("--reference", action="store_true", help="time the plain reference path (dtp_core/reference.py)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    parser.add_argument("--one-batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    device = torch.device(args.device)

    if args.one is not None:
        config = DTPConfig(size=args.one, **overrides)
        if args.one_batch:
            print(json.dumps(batched_throughput(args.one, device, args.iterations, args.one_batch, config)))
        elif args.run:
            print(json.dumps(whole_run(args.one, device, args.run, config)))
        else:
            if args.reference:  # as the authors: every activation kept, a dense correlation
                config = config.replace(low_memory=False, corr_chunk=0)
            print(json.dumps(measure_one(args.one, device, args.iterations, not args.no_split, config, args.reference)))
        return 0

    def child(size: int, *extra: str) -> dict | None:
        cmd = [sys.executable, __file__, "--one", str(size), "--device", args.device, "--iterations", str(args.iterations),
               *(["--no-split"] if args.no_split else []), *(["--threads", str(args.threads)] if args.threads else []),
               *(["--reference"] if args.reference else []),
               *[x for s in args.set for x in ("--set", s)], *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"size {size} {' '.join(extra)}: failed\n{proc.stderr[-2000:]}")
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])

    if args.scaling:
        # Every measured point is kept in a JSON file beside the plot, so that one point can be
        # re-measured (--merge --sizes 256) without redoing the sizes that take an hour.
        store = args.scaling.with_suffix(".json")
        kept = json.loads(store.read_text()) if args.merge and store.exists() else []
        rows = {(r["size"], r["mode"]): r for r in kept if r["size"] not in args.sizes}
        print("| size | mode | s/iter | peak RSS MiB | peak GPU MiB |\n|---|---|---|---|---|")
        for size in args.sizes:
            cap = args.highres_grid
            highres = f"high resolution (correlation up to {cap}x{cap}, streamed)" if cap else "high resolution (full correlation, streamed)"
            for mode, corr_size in (("faithful (64x64 correlation)", 64), (highres, cap)):
                if size <= 256 and mode == highres:  # the level-3 map is at most 64x64: the same run
                    rows[(size, mode)] = rows.get((size, "faithful (64x64 correlation)"))
                else:
                    rows[(size, mode)] = child(size, "--no-split", "--set", f"corr_size={corr_size}")
                row = rows[(size, mode)]
                if row:
                    print(scaling_line(size, mode, row), flush=True)
        measured = [{"size": size, "mode": mode, **row} for (size, mode), row in sorted(rows.items()) if row]
        store.write_text(json.dumps(measured, indent=1) + "\n")
        sizes = sorted({size for size, _ in rows})
        if args.merge:
            print("all points (kept ones included):\n" + "\n".join(scaling_line(r["size"], r["mode"], r) for r in measured))
        plot_scaling(rows, sizes, args.scaling, args.device)
        print(f"wrote {args.scaling} and {store}")
        return 0
    if args.run:
        for size in args.sizes:
            row = child(size, "--run", str(args.run))
            if row:
                print(f"size {size}: {args.run} iterations in {row['seconds']:.1f} s ({row['seconds_per_iteration']:.4f} s/iter), "
                      f"peak RSS {row['peak_rss_mib']:.0f} MiB, peak GPU {row.get('peak_gpu_mib') or 0:.0f} MiB")
        return 0
    if args.batch:
        for size in args.sizes:
            for batch in args.batch:
                row = child(size, "--one-batch", str(batch))
                if row:
                    gpu = f", peak GPU {row['peak_gpu_mib']:.0f} MiB" if "peak_gpu_mib" in row else ""
                    print(f"size {size} B={batch}: {row['seconds']:.1f} s for {args.iterations} iterations, "
                          f"{row['pairs_per_hour']:.2f} pairs/hour at {DTPConfig().iterations} iterations, "
                          f"peak RSS {row['peak_rss_mib']:.0f} MiB{gpu}")
        return 0

    print(f"# DTP speed, device {device}, torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, "
          f"{trainer.numerics(DTPConfig(**overrides), device)}; CPU {cpu_model_and_flags()}")
    rows = []
    for size in args.sizes:
        row = child(size)
        if row is None:
            continue
        rows.append(row)
        gpu = f", peak GPU {row['peak_gpu_mib']:.0f} MiB" if "peak_gpu_mib" in row else ""
        print(f"size {size:4d}: {row['s_per_iter']:.3f} s/iter (first {row['first_iter_s']:.2f} s), "
              f"peak RSS {row['peak_rss_mib']:.0f} MiB{gpu}, backbone {row['backbone']}")
        for part, seconds in row.get("split", {}).items():
            print(f"    {part:30s} {seconds:7.3f} s")
    if args.flops:
        flops = count_flops(256, device, DTPConfig(**overrides))
        peak = peak_throughput(device)
        print("GFLOP at 256 (forward + backward): " + ", ".join(f"{k} {v:.1f}" for k, v in flops.items()))
        print("sustained fp32 throughput: " + ", ".join(f"{k} {v:.0f}" for k, v in peak.items()))
        for row in rows:
            if row["size"] == 256:
                achieved = flops["full iteration"] / row["s_per_iter"]
                print(f"at 256: {achieved:.0f} GFLOP/s achieved = {achieved / peak['conv3x3_gflops']:.0%} of the conv peak; "
                      f"limit {flops['full iteration'] / peak['conv3x3_gflops']:.2f} s/iter at that peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
