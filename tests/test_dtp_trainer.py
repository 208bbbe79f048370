"""The training loop: reference equality, gradients, convergence, determinism, ablations, sizes."""

import copy

import pytest
import torch
import torch.nn.functional as F

from dtp_core import losses, trainer
from dtp_core.config import DTPConfig, preset
from dtp_core.images import load_pair, normalize
from dtp_core.reference import reference_forward

SMALL = dict(size=32, iterations=2, snapshots=())


@pytest.fixture(scope="module")
def pair32(dpst_pair):
    return load_pair(*dpst_pair, size=32)


@pytest.fixture(scope="module")
def pair64(dpst_pair):
    return load_pair(*dpst_pair, size=64)


def _nets(config, resolved, seed=1006):
    return trainer.build_networks(config, resolved, torch.device("cpu"), seed)


# The reference runs in float64 (the fast path's weights and inputs, converted), so the differences
# are the fast path's own fp32 rounding: 2**-24 (6e-8) relative per operation, through ~20 layers
# of sums of up to 4608 terms (and the correlation's cosines from diagonal sums of feature products,
# `correspondence.patch_cosines`, not from unfolded patches): ~1e-6 relative, ~1e-5 at worst. The
# outputs and the cycle term then pass through the correlation's softmax at temperature 0.01, whose
# weights move by up to 1 / (4 * 0.01) = 25 times a change in the cosines they are made of: up to
# 2.5e-4 from rounding alone (seen, when both paths ran in fp32: 1.9e-4 on an AVX-512 machine).
# TOLERANCE (loss terms, relative; outputs, in normalised pixels of order 1) sits four times above
# that. Gradients are more sensitive: the softmax's Hessian is of order 1 / 0.01**2, so a 1e-6
# difference in the features moves its gradient by up to 1e-2 relative. Both stay ten times below
# what a wrong constant does (a FMA weight or a loss weight off by 10%: the test after next).
TOLERANCE = 1e-3
GRADIENT_TOLERANCE = 1e-2
# A nearest style patch of the reference that is not the fast path's must be a tie to rounding: its
# cosine (of unit vectors whose entries carry the errors above) within NEAR_TIE of the fast path's
# pick's. A wrong choice (a bug) costs far more: a wrong FMA weight moves it by ~0.2.
NEAR_TIE = 1e-4


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


def _gradient(network: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in network.parameters()])


def _networks(nets):
    return nets.encoder, nets.decoder


def _fast_and_reference_paths(pair, resolved, monkeypatch, fast_config, reference_config, iterations=3):
    """`iterations` iterations of the fast path and of the reference path (dtp_core/reference.py),
    each from the same state. Returns, per iteration: the larger of the loss terms' relative
    difference and the outputs' difference; the gradients' relative difference (the larger of the
    encoder's and the decoder's); the largest nearest-patch gap.

    Two runs that round differently drift apart by more than rounding, for reasons that are not
    bugs: Adam steps each weight by about lr whatever the size of its gradient, so a gradient entry
    whose sign rounding can flip moves its weight by 2 lr; the correlation's softmax at temperature
    0.01 magnifies a difference in the previous output's feature (the FMA) into its gradients; at a
    near-tie the style loss's nearest patch can be another one, which pulls the gradient elsewhere.
    So before each iteration the reference gets the fast path's weights and previous output feature
    (it blends the latter itself), and the fast path's nearest-patch picks, and whether its own picks
    would have been ties is checked instead.
    """
    content, style = (normalize(x) for x in pair)
    fast = _nets(fast_config, resolved)
    plain = copy.deepcopy(fast)  # the loss-position generator too: both draw the same positions
    for network in _networks(plain):
        network.double()
    optimizers = trainer.make_optimizers(fast, fast_config)
    picks = []

    def recording_style_loss(style_patches, output_patches, *, distance):
        picks.append(losses.nearest_style_patches(style_patches, output_patches, distance=distance))
        return losses.nearest_neighbour_style_loss(style_patches, output_patches, distance=distance, nearest=picks[-1])

    monkeypatch.setattr(trainer, "nearest_neighbour_style_loss", recording_style_loss)
    previous = None
    differences = []
    for _ in range(iterations):
        picks.clear()
        step = trainer.forward(fast, content, style, fast_config, previous)
        reference = reference_forward(plain, content.double(), style.double(), reference_config,
                                      None if previous is None else previous.double(), nearest=list(picks))
        reference.total.backward()
        trainer.descend(optimizers, step.total)  # the fast path's backward, then its weights step on
        terms = torch.tensor(reference.terms)
        forward_difference = max(((step.terms - terms).abs() / terms.abs()).max().item(),
                                 (step.output - reference.output).abs().max().item())
        gradient_difference = max(_relative(_gradient(a), _gradient(b)) for a, b in zip(_networks(fast), _networks(plain)))
        differences.append((forward_difference, gradient_difference,
                            max(gap.max().item() for gap in reference.nearest_gaps)))
        for a, b in zip(_networks(fast), _networks(plain)):
            b.load_state_dict(a.state_dict())
            b.zero_grad(set_to_none=True)
        previous = step.output_feature
    return differences


def test_fast_path_equals_reference_path_for_the_first_iterations(pair64, resolved_weights, monkeypatch):
    config = DTPConfig(size=64)
    for iteration, (forward_difference, gradient_difference, gap) in enumerate(
            _fast_and_reference_paths(pair64, resolved_weights, monkeypatch, config, config)):
        assert forward_difference < TOLERANCE, (iteration, forward_difference)
        assert gradient_difference < GRADIENT_TOLERANCE, (iteration, gradient_difference)
        assert 0 <= gap < NEAR_TIE, (iteration, gap)


@pytest.mark.parametrize("wrong", [dict(fma_weight=0.54), dict(lambda_c=0.22),
                                   dict(style_weights=(1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4.4))],
                         ids=["fma_weight", "lambda_c", "style_weight"])
def test_the_equality_check_catches_a_wrong_constant_in_the_fast_path(pair64, resolved_weights, monkeypatch, wrong):
    """The tolerances above leave no room for a real bug: one constant off by 10% is caught."""
    config = DTPConfig(size=64)
    differences = _fast_and_reference_paths(pair64, resolved_weights, monkeypatch, config.replace(**wrong), config)
    assert any(forward > 10 * TOLERANCE or gradient > 10 * GRADIENT_TOLERANCE for forward, gradient, _ in differences)


def test_gradients_reach_encoder_and_decoder(pair32, resolved_weights):
    config = DTPConfig(**SMALL)
    nets = _nets(config, resolved_weights)
    step = trainer.forward(nets, *(normalize(x) for x in pair32), config, None)
    step.total.backward()
    for module in (nets.encoder, nets.decoder):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads)
        assert sum(g.abs().sum().item() for g in grads) > 0
    # all 16 (VGG-19) / 13 (VGG-16) convs are fine-tuned, the first one included
    assert nets.encoder.features[0].weight.grad.abs().sum() > 0


def test_loss_falls_on_a_real_pair(pair64, resolved_weights):
    result = trainer.stylize(*pair64, config=DTPConfig(size=64, iterations=30, snapshots=()), device="cpu",
                             resolved=resolved_weights, progress=False)
    totals = [row["total"] for row in result.losses]
    assert len(totals) == 30
    assert sum(totals[-5:]) / 5 < 0.8 * sum(totals[:5]) / 5


def test_same_seed_same_bits_other_seed_other_output(pair32, resolved_weights):
    run = lambda seed: trainer.stylize(*pair32, config=DTPConfig(**SMALL, seed=seed), device="cpu",
                                       resolved=resolved_weights, progress=False)
    a, b, c = run(1006), run(1006), run(7)
    assert torch.equal(a.image, b.image)
    assert a.losses == b.losses
    assert not torch.equal(a.image, c.image)


def test_sidecar_facts(pair32, resolved_weights):
    result = trainer.stylize(*pair32, config=DTPConfig(**SMALL), device="cpu", resolved=resolved_weights, progress=False)
    facts = result.facts
    for key in ("parameters", "seed", "device", "seconds", "peak_rss_mib", "versions", "backbone", "weights_sha256",
                "weights_file", "backbone_note", "seconds_per_iteration"):
        assert key in facts, key
    assert facts["seed"] == 1006 and facts["parameters"]["lambda_c"] == pytest.approx(0.2)
    assert len(facts["weights_sha256"]) == 64
    assert facts["backbone"] in ("vgg16", "vgg19")
    if facts["backbone"] == "vgg16":
        assert "stand-in" in facts["backbone_note"]


def test_snapshots_are_kept_at_the_chosen_iterations(pair32, resolved_weights):
    result = trainer.stylize(*pair32, config=DTPConfig(size=32, iterations=4, snapshots=(0, 2, 99)), device="cpu",
                             resolved=resolved_weights, progress=False)
    assert sorted(result.snapshots) == [0, 2]
    assert not torch.equal(result.snapshots[0], result.snapshots[2])


def _forward_once(config, pair, resolved, previous=None, capture=None):
    nets = _nets(config, resolved)
    if not config.use_warped_feature:
        nets.noise = torch.randn(1, 256, 8, 8)
    if capture is not None and nets.decoder is not None:
        nets.decoder.register_forward_hook(lambda module, inputs, out: capture.append(inputs[0]))
    return nets, trainer.forward(nets, *(normalize(x) for x in pair), config, previous)


def test_no_generation_module_outputs_the_upsampled_warped_image(pair32, resolved_weights):
    config = preset("dtp_no_generation", **SMALL)
    nets, step = _forward_once(config, pair32, resolved_weights)
    assert nets.decoder is None
    upsampled = F.interpolate(step.warped_image, size=(32, 32), mode="bilinear")
    assert torch.equal(step.output, upsampled)


def test_no_warped_image_outputs_the_decoder_alone(pair32, resolved_weights):
    captured = []
    config = preset("dtp_no_warped_image", **SMALL)
    nets, step = _forward_once(config, pair32, resolved_weights, capture=captured)
    with torch.no_grad():
        assert torch.allclose(step.output, nets.decoder(captured[0][:1]), atol=1e-4)  # batched vs alone


def test_no_warped_feature_feeds_noise_to_the_decoder(pair32, resolved_weights):
    captured = []
    config = preset("dtp_no_warped_feature", **SMALL)
    nets, step = _forward_once(config, pair32, resolved_weights, capture=captured)
    assert torch.equal(captured[0][:1], nets.noise)
    assert captured[0].shape[0] == 3  # the cycle reconstructions still decode warped features


def test_no_cycle_drops_the_cycle_term_and_its_decodes(pair32, resolved_weights):
    captured = []
    _, step = _forward_once(preset("dtp_no_cycle", **SMALL), pair32, resolved_weights, capture=captured)
    assert captured[0].shape[0] == 1 and step.terms[3] == 0
    _, full = _forward_once(DTPConfig(**SMALL), pair32, resolved_weights)
    assert full.terms[3] > 0
    # the content and style terms are the same: only the cycle term is gone (the decoder ran on a
    # batch of 1 instead of 3, which oneDNN may sum in another order: rounding, see TOLERANCE)
    assert torch.allclose(step.terms[1:3], full.terms[1:3], rtol=TOLERANCE, atol=0)


def test_no_fma_ignores_the_previous_output(pair32, resolved_weights):
    previous = torch.rand(1, 256, 8, 8) * 5
    _, without = _forward_once(preset("dtp_no_fma", **SMALL), pair32, resolved_weights, previous)
    _, fresh = _forward_once(DTPConfig(**SMALL), pair32, resolved_weights, None)
    _, blended = _forward_once(DTPConfig(**SMALL), pair32, resolved_weights, previous)
    assert torch.equal(without.output, fresh.output)
    assert not torch.allclose(blended.output, fresh.output, atol=1e-4)


def test_lambda_c_preset_weights_the_terms(pair32, resolved_weights):
    _, step = _forward_once(preset("dtp_lc4_5", **SMALL), pair32, resolved_weights)
    total, content, style, cycle = step.terms.tolist()
    assert total == pytest.approx(0.8 * content + 0.2 * style + cycle, rel=1e-5)


@pytest.mark.parametrize("shape", [(48, 48), (80, 80), (64, 48), (40, 72)])
def test_other_input_sizes(shape, dpst_pair, resolved_weights):
    content, style = load_pair(*dpst_pair, size=max(shape))
    content = F.interpolate(content, size=shape, mode="bilinear")
    style = F.interpolate(style, size=shape, mode="bilinear")
    result = trainer.stylize(content, style, config=DTPConfig(size=max(shape), iterations=1, snapshots=()),
                             device="cpu", resolved=resolved_weights, progress=False)
    assert result.image.shape == (1, 3, *shape)


def test_larger_maps_are_correlated_on_a_capped_grid(pair64, resolved_weights):
    # corr_size 8 on a 64-px input (16x16 level-3 map): the faithful 64x64 cap, scaled down
    result = trainer.stylize(*pair64, config=DTPConfig(size=64, iterations=1, corr_size=8, snapshots=()),
                             device="cpu", resolved=resolved_weights, progress=False)
    assert result.image.shape == (1, 3, 64, 64)
    assert result.extras["warped"].shape == (1, 3, 64, 64)


def test_too_small_and_mismatched_inputs_are_refused(resolved_weights):
    with pytest.raises(ValueError, match="smallest input is 16"):
        trainer.stylize(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), config=DTPConfig(**SMALL), device="cpu",
                        resolved=resolved_weights)
    with pytest.raises(ValueError, match="same shape"):
        trainer.stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 48, 32), config=DTPConfig(**SMALL), device="cpu",
                        resolved=resolved_weights)


def test_progress_lines_instead_of_a_bar_when_not_a_terminal(pair32, resolved_weights, capsys):
    trainer.stylize(*pair32, config=DTPConfig(**SMALL), device="cpu", resolved=resolved_weights, progress=None)
    err = capsys.readouterr().err
    assert "\r" not in err and [line.split("  ")[0] for line in err.splitlines()] == ["DTP 1/2", "DTP 2/2"]


def test_streamed_correlation_gives_the_same_first_step(pair64, resolved_weights):
    """High-resolution mode: the correlation in chunks (memory linear in pixels), same losses."""
    content, style = (normalize(x) for x in pair64)
    steps = []
    for chunk in (0, 64):  # 16x16 = 256 positions: dense, then four chunks
        config = DTPConfig(size=64, corr_size=0, corr_chunk=chunk)
        steps.append(trainer.forward(_nets(config, resolved_weights), content, style, config, None))
    # the same sums in chunks: rounding only (see TOLERANCE)
    assert torch.allclose(steps[0].terms, steps[1].terms, rtol=TOLERANCE, atol=0)
    assert torch.allclose(steps[0].output, steps[1].output, atol=TOLERANCE)


def test_low_memory_mode_changes_memory_not_results(pair32, resolved_weights, monkeypatch):
    """low_memory recomputes the decoder's activations in backward (the same kernels on the same
    inputs, so the same numbers up to the order in which gradients are summed) and asks glibc to
    return freed memory; the default keeps freed blocks for reuse. The allocator call is recorded,
    not made: it is process-wide and would change every later test's memory."""
    calls = []
    monkeypatch.setattr(trainer, "tune_heap", lambda low_memory: calls.append(low_memory))
    run = lambda low: trainer.stylize(*pair32, config=DTPConfig(**SMALL, low_memory=low), device="cpu",
                                      resolved=resolved_weights, progress=False)
    default = run(False)
    assert calls == [False]
    low = run(True)
    assert calls == [False, True]
    for a, b in zip(default.losses, low.losses):
        assert a == pytest.approx(b, rel=TOLERANCE)
    assert torch.allclose(default.image, low.image, atol=TOLERANCE)
