"""Deep Photo Style Transfer (Luan, Paris, Shechtman & Bala, CVPR 2017) as a precomputed method.

DPST's authors commit their own outputs for their 60 example pairs
(`examples/final_results/best{N}_t_1000.png`). "Stylising" pair N is reading that file and
resizing it to the content's shape with the protocol's resize (`dtp_core.images.resize`), exactly
as the content and every other method's output are sized, so that the metrics compare like with
like. The file is fetched like the benchmark's images (a data source of the DPST dataset); the
job passes its local path as the `file` parameter. Nothing is computed, so nothing needs a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dtp_core.errors import MethodUnavailable
from dtp_core.images import load_image, resize, to_tensor
from dtp_core.method import StylizeResult
from dtp_core.records import Meter
from dtp_core.weights import sha256_file

from . import runs
from .config import BaselineConfig

REPOSITORY = "luanfujun/deep-photo-styletransfer"
COMMIT = "4801fa2dca2e2b52847c377f451246a39eae154a"
RESULTS_PATH = "examples/final_results"
PAIRS = range(1, 61)


def output_name(pair: int) -> str:
    """The file name DPST's repository gives its output for example pair `pair` (1..60)."""
    if pair not in PAIRS:
        raise ValueError(f"DPST has outputs for pairs 1..60, not {pair!r}")
    return f"best{pair}_t_1000.png"


def output_url(pair: int) -> str:
    """Where the output of pair `pair` lives upstream (pinned commit)."""
    return f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/{RESULTS_PATH}/{output_name(pair)}"


@dataclass(frozen=True)
class DPSTConfig(BaselineConfig):
    file: str | None = None   # local path of DPST's output for this pair (best{N}_t_1000.png)


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: DPSTConfig = DPSTConfig(), device="cpu",
            seed: int | None = None, progress: bool | None = None) -> StylizeResult:
    device, seed = runs.start(content, style, config, "cpu", seed)
    if not config.file:
        # A pair outside DPST's 60 examples (e.g. PhotoNAS): the cell is unavailable, not failed.
        raise MethodUnavailable("DPST's own output for this pair", f"https://github.com/{REPOSITORY}",
                                "its repository has outputs for its 60 example pairs only; for those, the job "
                                "passes the fetched file as the `file` parameter")
    path = Path(config.file)
    if not path.is_file():
        raise MethodUnavailable(path.name, f"https://github.com/{REPOSITORY}/tree/{COMMIT}/{RESULTS_PATH}",
                                f"expected at {path}; run the fetch step of the dpst dataset")
    with Meter(device) as meter:
        array = load_image(path)
        output = to_tensor(resize(array, tuple(content.shape[-2:])))
    facts = runs.facts("dpst", config, seed=seed, content=content, style=style, meter=meter, device=device,
                       precomputed_file=str(path), precomputed_sha256=sha256_file(path),
                       precomputed_shape=[array.shape[0], array.shape[1]])
    return StylizeResult(image=output, facts=facts)
