"""The training loop: reference equality, gradients, convergence, determinism, ablations, sizes."""

import copy

import pytest
import torch
import torch.nn.functional as F

from dtp_core import trainer
from dtp_core.config import DTPConfig, preset
from dtp_core.images import load_pair, normalize
from reference_dtp import reference_forward

SMALL = dict(size=32, iterations=2, snapshots=())


@pytest.fixture(scope="module")
def pair32(dpst_pair):
    return load_pair(*dpst_pair, size=32)


@pytest.fixture(scope="module")
def pair64(dpst_pair):
    return load_pair(*dpst_pair, size=64)


def _nets(config, resolved, seed=1006):
    return trainer.build_networks(config, resolved, torch.device("cpu"), seed)


def test_fast_path_equals_reference_path_for_the_first_iterations(pair64, resolved_weights):
    config = DTPConfig(size=64)
    content, style = (normalize(x) for x in pair64)
    fast = _nets(config, resolved_weights)
    plain = copy.deepcopy(fast)
    fast_opt, plain_opt = trainer.make_optimizers(fast, config), trainer.make_optimizers(plain, config)
    fast_prev = plain_prev = None
    for iteration in range(3):
        step = trainer.forward(fast, content, style, config, fast_prev)
        total, terms, output, plain_prev_new = reference_forward(plain, content, style, config, plain_prev)
        assert step.terms.tolist() == pytest.approx(terms, rel=1e-4, abs=1e-6)
        # Same maths, different summation order: float differences of ~1e-7 at the first step, which
        # Adam (a step of ~lr whatever the gradient's size) lets grow to ~1e-4 over two updates.
        assert torch.allclose(step.output, output, atol=1e-5 if iteration == 0 else 2e-3)
        for opt, loss in ((fast_opt, step.total), (plain_opt, total)):
            for o in opt:
                o.zero_grad()
            loss.backward()
            for o in opt:
                o.step()
        fast_prev, plain_prev = step.output_feature, plain_prev_new


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
    # the content and style terms are the same: only the cycle term is gone
    assert torch.allclose(step.terms[1:3], full.terms[1:3], atol=1e-6)


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


def test_no_progress_output_when_not_a_terminal(pair32, resolved_weights, capsys):
    trainer.stylize(*pair32, config=DTPConfig(**SMALL), device="cpu", resolved=resolved_weights, progress=None)
    assert capsys.readouterr().err == ""


def test_streamed_correlation_gives_the_same_first_step(pair64, resolved_weights):
    """High-resolution mode: the correlation in chunks (memory linear in pixels), same losses."""
    content, style = (normalize(x) for x in pair64)
    steps = []
    for chunk in (0, 64):  # 16x16 = 256 positions: dense, then four chunks
        config = DTPConfig(size=64, corr_size=0, corr_chunk=chunk)
        steps.append(trainer.forward(_nets(config, resolved_weights), content, style, config, None))
    assert torch.allclose(steps[0].terms, steps[1].terms, rtol=1e-5)
    assert torch.allclose(steps[0].output, steps[1].output, atol=1e-5)
