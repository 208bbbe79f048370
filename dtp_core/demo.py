"""The demo: DTP on public-domain photos bundled with scikit-image (no download, no benchmark data).

    python -m dtp_core.demo -o results/demo/chelsea_rocket.png [--size 128] [--iterations 300] [--figure F.png]

Content: `skimage.data.chelsea()` (a cat); style: `skimage.data.rocket()` (a launch pad at dusk).
`--figure` also draws content | style | warped style | output side by side (the README's picture:
`python -m dtp_core.demo --size 128 --iterations 500 --figure docs/demo.png`). Other options go to
`dtp stylize`; with `--full-res` the figure shows the delivered output and a 1:1 crop of it beside the
same crop of the working-size output resized bilinearly (`python -m dtp_core.demo --size 128
--iterations 300 --keep-aspect --full-res --figure docs/demo_fullres.png`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from .cli import main as cli_main
from .images import load_image, resize, save_png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("results/demo/chelsea_rocket.png"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--figure", type=Path, help="also draw the inputs and results side by side here")
    args, passthrough = parser.parse_known_args(argv)
    content, style = args.output.parent / "content_chelsea.png", args.output.parent / "style_rocket.png"
    save_png(content, data.chelsea())
    save_png(style, data.rocket())
    status = cli_main(["stylize", str(content), str(style), "-o", str(args.output), "--size", str(args.size),
                       "--iterations", str(args.iterations), "--snapshots", f"0,{args.iterations // 2},{args.iterations - 1}",
                       "--overwrite", *passthrough])
    if status == 0 and args.figure and "--full-res" in passthrough:
        full_res_figure(load_image(content), args.output).save(args.figure)
    elif status == 0 and args.figure:
        shape = (args.size, args.size)
        tiles = {"content": resize(load_image(content), shape), "style": resize(load_image(style), shape),
                 "warped style (correspondence)": load_image(args.output.with_suffix(".warped.png")),
                 f"DTP output ({args.iterations} iterations)": load_image(args.output)}
        side_by_side(tiles).save(args.figure)
    return status


def full_res_figure(content: np.ndarray, output_png: Path, crop: int = 200, height: int = 300) -> Image.Image:
    """The delivered output (scaled to `height`), then 1:1 crops (`crop` px, around the centre) of the
    content, of the working-size output resized bilinearly, and of the delivered output."""
    delivered = load_image(output_png)
    full_h, full_w = delivered.shape[:2]
    working = load_image(output_png.with_suffix(".working.png"))
    bilinear = np.array(Image.fromarray(working).resize((full_w, full_h), Image.BILINEAR))
    top, left = max(0, full_h // 2 - crop // 2), max(0, full_w // 2 - crop // 2)
    window = (slice(top, top + crop), slice(left, left + crop))
    scaled = Image.fromarray(delivered).resize((round(full_w * height / full_h), height), Image.BICUBIC)
    panels = [(f"delivered at {full_w}x{full_h}", scaled),
              ("content, 1:1 crop", Image.fromarray(content[window])),
              (f"{working.shape[1]}x{working.shape[0]} result, bilinear, 1:1", Image.fromarray(bilinear[window])),
              ("delivered, 1:1 crop", Image.fromarray(delivered[window]))]
    pad, caption = 8, 22
    canvas = Image.new("RGB", (sum(p.width for _, p in panels) + pad * (len(panels) + 1), height + caption + pad),
                       "white")
    draw, x = ImageDraw.Draw(canvas), pad
    for name, panel in panels:
        canvas.paste(panel, (x, caption))
        draw.text((x, 5), name, fill="black")
        x += panel.width + pad
    return canvas


def side_by_side(tiles: dict[str, np.ndarray], height: int = 256, pad: int = 8, caption: int = 22) -> Image.Image:
    canvas = Image.new("RGB", (len(tiles) * (height + pad) + pad, height + caption + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (name, tile) in enumerate(tiles.items()):
        x = pad + i * (height + pad)
        canvas.paste(Image.fromarray(tile).resize((height, height), Image.BICUBIC), (x, caption))
        draw.text((x, 5), name, fill="black")
    return canvas


if __name__ == "__main__":
    sys.exit(main())
