"""Full-resolution delivery (dtp_core.fullres): its quality against training at the larger size, its cost.

    python benchmarks/fullres.py --quality RUNS   # RUNS/<name>_256.png and <name>_512.png (+ .json) from `dtp stylize`
    python benchmarks/fullres.py --quality RUNS --sizes 128 256   # another pair of sizes
    python benchmarks/fullres.py --cost           # seconds and peak RSS to deliver 1, 12, 40 megapixels
    python benchmarks/fullres.py --crops RUNS/<name> --figure F.png   # 1:1 crops of the three at the larger size
    python benchmarks/fullres.py --edge           # error at a colour-transform edge, against bilinear

--quality scores, per pair, DTP trained at 512 directly against DTP trained at 256 and carried to
512 by (a) bilinear resizing and (b) the local affine upsampler: SSIM and LPIPS against the 512
content, Gram and histogram distances to the 512 style (the workflow's own scorer), and LPIPS to the
direct 512 output (how close carrying comes to training at the larger size). The runs come
from `dtp stylize C S -o RUNS/<name>_<size>.png --size <size> --iterations N` (same N for both).
--cost runs each size in a fresh process so that its peak RSS is its own. Prints markdown; names the CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dtp_bench.metrics.scorer import Scorer  # noqa: E402
from dtp_core.devices import cpu_model_and_flags  # noqa: E402
from dtp_core.images import load_image, resize, to_tensor  # noqa: E402
from dtp_core.upsample import UpsamplerConfig, upsample  # noqa: E402

METRICS = ("ssim", "lpips", "gram", "histogram")
COST_SIZES = {"1 MP": (864, 1152), "12 MP": (3000, 4000), "40 MP": (5472, 7296)}


def _at(path: str, size: int) -> torch.Tensor:
    return to_tensor(resize(load_image(path), (size, size)))


def candidates(name: Path, small: int, large: int) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict, float]:
    """The three outputs at `large` of one pair (direct; `small` + bilinear; `small` + local affine),
    the content at `large`, the `small` run's sidecar, and the upsampler's seconds."""
    sidecar = json.loads(Path(f"{name}_{small}.json").read_text())
    content_small, content_large = _at(sidecar["content_file"], small), _at(sidecar["content_file"], large)
    result = to_tensor(load_image(f"{name}_{small}.png"))
    start = time.perf_counter()
    carried = upsample(content_small, result, content_large, UpsamplerConfig())
    seconds = time.perf_counter() - start
    return {f"direct {large}": to_tensor(load_image(f"{name}_{large}.png")),
            f"{small} + bilinear": F.interpolate(result, size=(large, large), mode="bilinear").clamp(0, 1),
            f"{small} + local affine": carried}, content_large, sidecar, seconds


def quality(runs: Path, small: int = 256, large: int = 512) -> list[dict]:
    scorer = Scorer({"enabled": list(METRICS)})
    rows = []
    for small_png in sorted(runs.glob(f"*_{small}.png")):
        name = small_png.with_name(small_png.name[: -len(f"_{small}.png")])
        outputs, content, sidecar, seconds = candidates(name, small, large)
        style = _at(sidecar["style_file"], large)
        for label, image in outputs.items():
            scores = scorer.score(image, content, style)
            to_direct = scorer.score(image, outputs[f"direct {large}"], style)["lpips"]["value"]
            rows.append({"pair": name.name, "output": label,
                         "iterations": sidecar["parameters"]["iterations"], **{m: scores[m]["value"] for m in METRICS},
                         "lpips_direct": to_direct, "upsample_s": round(seconds, 3) if "affine" in label else None})
    return rows


def crops_figure(name: Path, figure: Path, small: int = 256, large: int = 512, crop: int = 160) -> None:
    """1:1 crops (around the centre) of the content and of the three outputs at `large`, side by side."""
    from dtp_core.demo import side_by_side

    outputs, content, _, _ = candidates(name, small, large)
    images = {f"content ({large})": content, **outputs}
    top = left = large // 2 - crop // 2
    tiles = {label: (image[0, :, top:top + crop, left:left + crop].permute(1, 2, 0).numpy() * 255).round()
             .astype("uint8") for label, image in images.items()}
    side_by_side(tiles, height=crop).save(figure)


def edge_errors() -> list[tuple[str, float, float]]:
    """Mean absolute error against the exact stylisation in the two-region scene of
    tests/test_upsample.py (the test asserts the upsampler beats bilinear there): everywhere, near
    the edge where the colour transform changes, and away from it. (label, bilinear, upsampler)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_upsample import edge_scene

    size = 256
    content_small, output_small, content_full, truth = edge_scene(size)
    ours = (upsample(content_small, output_small, content_full, UpsamplerConfig(radius=1)) - truth).abs()
    bilinear = (F.interpolate(output_small, size=(size, size), mode="bilinear", align_corners=False) - truth).abs()
    near = {w: slice(size // 2 - w, size // 2 + w) for w in (4, 8, 16)}
    rows = [("everywhere", bilinear.mean().item(), ours.mean().item())]
    rows += [(f"within {w} px of the edge", bilinear[..., s].mean().item(), ours[..., s].mean().item())
             for w, s in near.items()]
    away = torch.ones(size, dtype=torch.bool)
    away[near[16]] = False
    rows.append(("more than 16 px away", bilinear[..., away].mean().item(), ours[..., away].mean().item()))
    return rows


def cost_child(height: int, width: int) -> dict:
    """One delivery from a 256x256 working result to height x width, in this process."""
    import resource

    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(0)
    content_small = torch.rand(1, 3, 256, 256, generator=generator)
    output_small = (content_small * 0.8 + 0.1).clamp(0, 1)
    content_full = F.interpolate(content_small, size=(height, width), mode="bilinear").clamp(0, 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(3):
        start = time.perf_counter()
        upsample(content_small, output_small, content_full, UpsamplerConfig())
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": min(times), "peak_rss_mib": peak, "input_rss_mib": before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quality", type=Path, metavar="RUNS")
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--crops", type=Path, metavar="RUNS/NAME")
    parser.add_argument("--edge", action="store_true")
    parser.add_argument("--figure", type=Path, default=Path("fullres_crops.png"))
    parser.add_argument("--sizes", type=int, nargs=2, default=(256, 512), metavar=("WORKING", "LARGER"))
    parser.add_argument("--crop", type=int, default=160, help="side of the 1:1 crops, pixels")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(cost_child(*args.child)))
        return 0
    print(f"CPU: {cpu_model_and_flags()}, torch {torch.__version__}, 2 threads")
    if args.edge:
        print("\n| where (scene of tests/test_upsample.py, 64 -> 256 px) | bilinear | local affine | ratio |")
        print("|---|---|---|---|")
        for label, bilinear, ours in edge_errors():
            print(f"| {label} | {bilinear:.4f} | {ours:.4f} | {bilinear / ours:.1f}x |")
    if args.crops:
        crops_figure(args.crops, args.figure, *args.sizes, crop=args.crop)
        print(f"wrote {args.figure}")
    if args.quality:
        rows = quality(args.quality, *args.sizes)
        columns = [*METRICS, "lpips_direct"]
        print("\n| pair | output | iterations | SSIM (content) | LPIPS (content) | Gram (style) | histogram (style) "
              f"| LPIPS to direct {args.sizes[1]} |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['pair']} | {r['output']} | {r['iterations']} | " + " | ".join(f"{r[m]:.4f}" for m in columns)
                  + " |")
        print("\nmean over pairs:")
        for label in dict.fromkeys(r["output"] for r in rows):
            chosen = [r for r in rows if r["output"] == label]
            means = {m: sum(r[m] for r in chosen) / len(chosen) for m in columns}
            print(f"| {label} | " + " | ".join(f"{means[m]:.4f}" for m in columns) + " |")
    if args.cost:
        print("\n| output | pixels | seconds (best of 3) | peak RSS | of which the inputs |")
        print("|---|---|---|---|---|")
        for label, (height, width) in COST_SIZES.items():
            out = subprocess.run([sys.executable, __file__, "--child", str(height), str(width)], capture_output=True,
                                 text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {label} ({width}x{height}) | {height * width / 1e6:.1f} M | {r['seconds']:.2f} | "
                  f"{r['peak_rss_mib']:.0f} MiB | {r['input_rss_mib']:.0f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
