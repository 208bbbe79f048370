"""Many pairs in one batched computation give the results of separate runs."""

import pytest
import torch

from dtp_core import trainer
from dtp_core.batched import stylize_many
from dtp_core.config import DTPConfig, preset
from dtp_core.images import load_pair


@pytest.fixture(scope="module")
def two_pairs(dpst_pair, face_pair):
    return [load_pair(*dpst_pair, size=32), load_pair(*face_pair, size=32)]


# Iteration 0 runs from the same weights on both sides: the same maths summed in another order
# (grouped convolutions), ~1e-6 relative, magnified up to 25x in the output by the correlation's
# softmax at temperature 0.01 (tests/test_dtp_trainer.py: TOLERANCE says why 1e-3).
FIRST_ITERATION = 1e-3
# Later iterations drift further, and not through a bug: Adam steps a weight by about lr whatever the
# size of its gradient, so an entry whose sign rounding decides moves by 2 lr, and at a near-tie the
# style loss's nearest patch can be another one. Only such entries differ, a small share of the
# update, so the drift is a small share of how far the run moved: DRIFT of it at most (~0.1% here).
DRIFT = 0.05


@pytest.mark.parametrize("config", [DTPConfig(size=32, iterations=3, snapshots=(0, 2)),
                                    preset("dtp_no_generation", size=32, iterations=2, snapshots=(0,))],
                         ids=["default", "no_generation"])
def test_batched_pairs_equal_separate_runs(two_pairs, resolved_weights, config):
    contents, styles = [p[0] for p in two_pairs], [p[1] for p in two_pairs]
    batched = stylize_many(contents, styles, config=config, device="cpu", resolved=resolved_weights, progress=False)
    for (content, style), together in zip(two_pairs, batched):
        alone = trainer.stylize(content, style, config=config, device="cpu", resolved=resolved_weights, progress=False)
        first_a, first_b = alone.losses[0], together.losses[0]
        assert [first_a[k] for k in trainer.LOSS_TERMS] == pytest.approx([first_b[k] for k in trainer.LOSS_TERMS],
                                                                         rel=FIRST_ITERATION)
        assert torch.allclose(alone.snapshots[0], together.snapshots[0], atol=FIRST_ITERATION)
        for a, b in zip(alone.losses[1:], together.losses[1:]):
            moved = abs(a["total"] - first_a["total"])
            assert abs(a["total"] - b["total"]) <= DRIFT * moved + FIRST_ITERATION * abs(a["total"])
        moved = (alone.image - alone.snapshots[0]).abs().max()
        assert (alone.image - together.image).abs().max() <= DRIFT * moved
        assert sorted(together.snapshots) == sorted(alone.snapshots)
        assert together.facts["batch"]["pairs"] == 2
    assert not torch.allclose(batched[0].image, batched[1].image, atol=0.05)  # two different pairs


def test_batched_pairs_refuse_mixed_shapes(two_pairs, resolved_weights):
    with pytest.raises(ValueError, match="one shape"):
        stylize_many([two_pairs[0][0], torch.rand(1, 3, 48, 48)], [two_pairs[0][1], torch.rand(1, 3, 48, 48)],
                     config=DTPConfig(size=32, iterations=1), device="cpu", resolved=resolved_weights)
