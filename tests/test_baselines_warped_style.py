"""DTP's warped style at iteration 0: DTP's own first output without a decoder."""

import torch

from baselines import warped_style
from baselines.warped_style import WarpedStyleConfig
from dtp_core import trainer
from dtp_core.config import preset


def test_it_is_the_first_output_of_the_no_generation_ablation(resolved_weights):
    torch.manual_seed(0)
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    mine = warped_style.stylize(content, style, device="cpu", resolved=resolved_weights)
    dtp = trainer.stylize(content, style, config=preset("dtp_no_generation", iterations=1, snapshots=()),
                          device="cpu", resolved=resolved_weights, progress=False)
    assert torch.allclose(mine.image, dtp.image, atol=1e-6)
    assert mine.facts["method"] == "warped_style" and mine.facts["weights_sha256"] == resolved_weights.sha256


def test_a_flat_style_warps_to_itself_and_other_shapes_are_resized(resolved_weights):
    # Each output pixel is a convex combination of style pixels: a one-colour style gives that colour.
    colour = torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1)
    content, style = torch.rand(1, 3, 32, 48), colour.expand(1, 3, 40, 40).contiguous()
    result = warped_style.stylize(content, style, config=WarpedStyleConfig(), device="cpu", resolved=resolved_weights)
    assert result.image.shape == content.shape
    assert torch.allclose(result.image, colour.expand_as(result.image), atol=1e-4)
    assert result.facts["style_shape"] == [1, 3, 40, 40]
