"""The demo: DTP on public-domain photos bundled with scikit-image (no download, no benchmark data).

    python -m dtp_core.demo -o results/demo/chelsea_rocket.png [--size 128] [--iterations 300]

Content: `skimage.data.chelsea()` (a cat); style: `skimage.data.rocket()` (a launch pad at dusk).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skimage import data

from .cli import main as cli_main
from .images import save_png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("results/demo/chelsea_rocket.png"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=300)
    args, passthrough = parser.parse_known_args(argv)
    content, style = args.output.parent / "content_chelsea.png", args.output.parent / "style_rocket.png"
    save_png(content, data.chelsea())
    save_png(style, data.rocket())
    return cli_main(["stylize", str(content), str(style), "-o", str(args.output), "--size", str(args.size),
                     "--iterations", str(args.iterations), "--snapshots", f"0,{args.iterations // 2},{args.iterations - 1}",
                     *passthrough])


if __name__ == "__main__":
    sys.exit(main())
