"""The CUDA fast paths (TF32, bf16 autocast + channels-last) against strict fp32. Runs where CUDA is."""

import piq
import pytest
import torch

from dtp_core import trainer
from dtp_core.config import DTPConfig
from dtp_core.images import load_pair

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none on this machine)")


@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_fast_path_numerics_match_fp32(dpst_pair, resolved_weights, precision):
    content, style = load_pair(*dpst_pair, size=128)
    runs = {}
    for name in ("fp32", precision):
        config = DTPConfig(size=128, iterations=100, snapshots=(), precision=name)
        runs[name] = trainer.stylize(content, style, config=config, device="cuda", resolved=resolved_weights,
                                     progress=False)
    strict, fast = runs["fp32"], runs[precision]
    totals = [(a["total"], b["total"]) for a, b in zip(strict.losses, fast.losses)]
    assert totals[0][1] == pytest.approx(totals[0][0], rel=2e-2)
    assert sum(b for _, b in totals[-10:]) == pytest.approx(sum(a for a, _ in totals[-10:]), rel=0.1)
    assert piq.ssim(strict.image, fast.image, data_range=1.0).item() > 0.9
