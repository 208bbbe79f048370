"""fp32 variants of one DTP training iteration on the CPU, timed in alternating rounds (ratios only).

    python benchmarks/cpu_variants.py 256 default,cl,compile

default: as shipped; cl: encoder, decoder and images channels-last (what the bf16 path uses);
compile: torch.compile of encoder and decoder (its compilation in the two warm-up iterations, not
timed). Figures and the CPU they ran on: docs/benchmarks.md ("fp32 variants").
"""
import sys, time, statistics, torch
from pathlib import Path
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from speed import demo_pair, benchmark_networks
from dtp_core import trainer
from dtp_core.config import DTPConfig
from dtp_core.images import normalize

import argparse
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("size", type=int, nargs="?", default=256)
parser.add_argument("variants", nargs="?", default="default,cl,compile", help="comma-separated: default, cl, compile")
arguments = parser.parse_args()
size, variants = arguments.size, arguments.variants.split(",")
iters, rounds = 4, 2
torch.set_num_threads(2)
cfg = DTPConfig(size=size, backbone="vgg16")
content, style = (normalize(x) for x in demo_pair(size))

def build(v):
    nets, _ = benchmark_networks(cfg, torch.device("cpu"))
    c, s = content, style
    if "cl" in v:
        nets.encoder = nets.encoder.to(memory_format=torch.channels_last)
        nets.decoder = nets.decoder.to(memory_format=torch.channels_last)
        c, s = c.contiguous(memory_format=torch.channels_last), s.contiguous(memory_format=torch.channels_last)
    if "compile" in v:
        nets.encoder, nets.decoder = torch.compile(nets.encoder), torch.compile(nets.decoder)
    return nets, trainer.make_optimizers(nets, cfg), c, s

built = {v: build(v) for v in variants}
times = {v: [] for v in variants}
for r in range(rounds):
    for v in variants:
        nets, opt, c, s = built[v]; prev = None
        for i in range(iters + (2 if r == 0 else 0)):
            t = time.perf_counter()
            prev = trainer.train_step(nets, opt, c, s, cfg, prev).output_feature
            dt = time.perf_counter() - t
            if r > 0 or i >= 2: times[v].append(dt)
        print(v, r, f"{statistics.median(times[v]):.2f}", flush=True)
for v in variants: print(f"{v}: {statistics.median(times[v]):.3f} s/it")
