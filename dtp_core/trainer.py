"""The test-time training loop: one function, `stylize`, readable top to bottom.

One iteration (SPEC.md):
  1. encode content (levels 1-3) and style (levels 1-5) with the current encoder;
  2. correspondence on level 3: the content feature blended with the previous output's (FMA),
     softmax both ways, warp style -> content (feature + image) and the two cycle round trips;
  3. decode the warped feature and both round trips in one batched decoder pass, add the warped
     images as residuals;
  4. encode the output, compute InfoNCE content, nearest-neighbour style and cycle losses;
  5. one backward of the total, both Adam optimisers step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .backbone import ResolvedWeights, VGGEncoder, load_encoder, resolve_weights
from .config import DTPConfig
from .correspondence import correlate, correlation_grid, to_grid
from .devices import cpu_bf16_native, cpu_model_and_flags, seed_everything, select_device, set_deterministic, tune_heap
from .errors import Note
from .generator import Decoder
from .images import denormalize, normalize
from .losses import contrastive_loss, cycle_loss, gather_patches, nearest_neighbour_style_loss, sample_positions
from .method import StylizeResult, check_pair
from .progress import LossStream, ProgressLines
from .records import Meter, sidecar_facts

CORR_LEVEL = 2  # level 3 (relu3_4 on VGG-19) carries the correspondence
LOSS_TERMS = ("total", "content", "style", "cycle")


@dataclass
class Networks:
    """What is trained for one pair, plus the fixed inputs that belong to it."""

    encoder: VGGEncoder
    decoder: Decoder | None  # None: the "no generation module" ablation
    noise: torch.Tensor | None  # fixed decoder input for the "no warped feature" ablation
    positions: torch.Generator  # draws the loss patch positions (CPU, so every device draws alike)


@dataclass
class Step:
    total: torch.Tensor
    terms: torch.Tensor           # LOSS_TERMS, detached, on the device (no host sync)
    output: torch.Tensor          # (1, 3, H, W), normalised
    warped_image: torch.Tensor    # (1, 3, h, w) on the correlation grid, normalised
    output_feature: torch.Tensor  # level-3 feature of the output, detached (next step's FMA)


def build_networks(config: DTPConfig, resolved: ResolvedWeights, device: torch.device, seed: int) -> Networks:
    seed_everything(seed)
    encoder = as_run_needs(load_encoder(resolved, device), config, device)
    decoder = as_run_needs(Decoder(config.decoder_padding, config.low_memory), config, device) if config.use_decoder else None
    positions = torch.Generator().manual_seed(seed)
    return Networks(encoder, decoder, None, positions)


def as_run_needs(network: torch.nn.Module, config: DTPConfig, device: torch.device) -> torch.nn.Module:
    """A network on the device, in the layout of the run's arithmetic (channels-last under bf16),
    compiled where `compile` asks."""
    network = network.to(device)
    if bf16_autocast(config, device):
        network = network.to(memory_format=torch.channels_last)
    if config.compile and device.type in ("cuda", "cpu"):
        network = torch.compile(network)
    return network


def bf16_autocast(config: DTPConfig, device: torch.device) -> bool:
    """`precision: bf16` on CUDA or the CPU (where the CPU lacks bf16 hardware it is emulated, and
    slower: `numerics` says so)."""
    return device.type in ("cuda", "cpu") and config.precision == "bf16"


def numerics(config: DTPConfig, device: torch.device) -> str:
    """What the sidecar records as the arithmetic a run used."""
    if bf16_autocast(config, device):
        if device.type == "cpu" and not cpu_bf16_native():
            return "bf16 autocast, emulated: this CPU has no AMX-BF16 or AVX512-BF16 (slower than fp32)"
        return "bf16 autocast (correlation, InfoNCE logits and style matching in fp32)"
    if device.type == "cuda" and config.precision == "tf32":
        return "fp32 with TF32 matrix products and convolutions"
    return "fp32"


def forward(nets: Networks, content: torch.Tensor, style: torch.Tensor, config: DTPConfig,
            previous_output_feature: torch.Tensor | None) -> Step:
    """One forward pass and the losses (under bf16 autocast when `precision` says so)."""
    with torch.autocast(device_type=content.device.type, dtype=torch.bfloat16,
                        enabled=bf16_autocast(config, content.device)):
        return _forward(nets, content, style, config, previous_output_feature)


def _forward(nets: Networks, content: torch.Tensor, style: torch.Tensor, config: DTPConfig,
             previous_output_feature: torch.Tensor | None) -> Step:
    """One forward pass and the losses. `content`/`style` are normalised (1, 3, H, W)."""
    height, width = content.shape[-2:]
    levels = len(config.style_weights)
    content_levels = max(len(config.content_weights), CORR_LEVEL + 1)

    # 1. content and style share one pass up to the deepest content level; style goes on alone.
    both = nets.encoder(torch.cat((content, style)), levels=content_levels)
    content_feats = [f[:1] for f in both]
    style_feats = [f[1:] for f in both]
    if levels > content_levels:
        style_feats += nets.encoder(style_feats[-1], levels=levels, from_level=content_levels)

    # 2. correspondence on level 3, FMA-blended content feature (the content loss uses the fresh one).
    content_corr = content_feats[CORR_LEVEL]
    if config.use_fma and previous_output_feature is not None:
        content_corr = (1 - config.fma_weight) * content_corr + config.fma_weight * previous_output_feature
    grid = correlation_grid(*content_corr.shape[-2:], config.corr_size)
    content_corr, style_corr = to_grid(content_corr, grid), to_grid(style_feats[CORR_LEVEL], grid)
    match = correlate(content_corr, style_corr, temperature=config.tau_corr, kernel=config.corr_kernel,
                      center=config.center, chunk=config.corr_chunk)
    # Feature and image travel together: one matrix product per warp.
    channels = style_corr.shape[1]
    style_stack = torch.cat((style_corr, F.adaptive_avg_pool2d(style, grid)), dim=1)
    s2c = match.warp_to_content(style_stack)
    with_cycle = config.lambda_cyc > 0
    if with_cycle:
        content_stack = torch.cat((content_corr, F.adaptive_avg_pool2d(content, grid)), dim=1)
        s2c2s = match.warp_to_style(s2c)
        c2s2c = match.warp_to_content(match.warp_to_style(content_stack))
        warped = torch.cat((s2c, s2c2s, c2s2c))
    else:
        warped = s2c
    # The images go on in fp32 (under autocast the warps are bf16 products): residual and sum as in fp32 runs.
    warped_features, warped_images = warped[:, :channels], warped[:, channels:].float()

    # 3. generation: output and cycle reconstructions in one decoder pass.
    residual = F.interpolate(warped_images, size=(height, width), mode="bilinear")
    if nets.decoder is None:
        images = residual
    else:
        decoder_input = warped_features
        if nets.noise is not None:
            decoder_input = torch.cat((nets.noise, warped_features[1:]))
        decoded = nets.decoder(decoder_input)
        if decoded.shape[-2:] != (height, width):
            decoded = F.interpolate(decoded, size=(height, width), mode="bilinear")
        images = config.lambda_w * decoded + (1 - config.lambda_w) * residual if config.use_warped_image else decoded
    output = images[:1]

    # 4. losses on the output's features, at the same random positions for every term of a level.
    output_feats = nets.encoder(output, levels=levels)
    positions = [sample_positions(f.shape[-2] * f.shape[-1], config.num_patches, nets.positions) for f in output_feats]
    content_loss = sum(weight * contrastive_loss(gather_patches(content_feats[i], positions[i]),
                                                 gather_patches(output_feats[i], positions[i]),
                                                 temperature=config.tau_nce, diagonal=config.nce_diagonal)
                       for i, weight in enumerate(config.content_weights))
    style_loss = sum(weight * nearest_neighbour_style_loss(gather_patches(style_feats[i], positions[i], kernel),
                                                           gather_patches(output_feats[i], positions[i], kernel),
                                                           distance=config.style_distance)
                     for i, (weight, kernel) in enumerate(zip(config.style_weights, config.style_kernels)))
    if with_cycle:
        cyc = cycle_loss(images[1:2], style, images[2:3], content)
    else:
        cyc = torch.zeros((), device=content.device)
    total = config.lambda_c * content_loss + (1 - config.lambda_c) * style_loss + config.lambda_cyc * cyc
    terms = torch.stack([total, content_loss, style_loss, cyc]).detach().float()
    return Step(total, terms, output.float(), warped_images[:1].float(), output_feats[CORR_LEVEL].detach())


def make_optimizers(nets: Networks, config: DTPConfig) -> list[torch.optim.Optimizer]:
    modules = [nets.encoder] + ([nets.decoder] if nets.decoder is not None else [])
    return [torch.optim.Adam(m.parameters(), lr=config.lr, betas=config.betas) for m in modules]


def descend(optimizers: list[torch.optim.Optimizer], loss: torch.Tensor) -> None:
    """One backward of `loss`, then every optimiser steps (the encoder's and the decoder's)."""
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()


def train_step(nets: Networks, optimizers: list[torch.optim.Optimizer], content: torch.Tensor, style: torch.Tensor,
               config: DTPConfig, previous_output_feature: torch.Tensor | None) -> Step:
    """One iteration: forward, one backward of the total loss, both optimisers step."""
    step = forward(nets, content, style, config, previous_output_feature)
    descend(optimizers, step.total)
    return step


def prepare_run(config: DTPConfig, device, seed: int | None, weights=None,
                resolved: ResolvedWeights | None = None) -> tuple[torch.device, int, ResolvedWeights]:
    """Device, seed, numerics settings and backbone weights of a run (shared by batched runs)."""
    device = select_device(device)
    if device.type == "cpu":
        tune_heap(config.low_memory)
    set_deterministic(config.deterministic)
    if device.type == "cpu" and bf16_autocast(config, device) and not cpu_bf16_native():
        # Without bf16 instructions oneDNN converts and multiplies in fp32 (AVX-512) or falls back to
        # reference code (AVX2): a 256x256 iteration measured 2.7x slower than fp32 on an AVX-512 Xeon
        # without BF16, a 64x64 one ~11x on an AVX2-only EPYC (docs/benchmarks.md). It still runs.
        warnings.warn(f"precision bf16 on a CPU without AMX-BF16 or AVX512-BF16 ({cpu_model_and_flags()}): bf16 "
                      "is emulated here, slower than fp32 (2.7x on an AVX-512 Xeon, about 11x on an AVX2 "
                      "EPYC); use precision fp32 unless you are testing the bf16 path", Note, stacklevel=2)
    if device.type == "cuda":
        fast = config.precision != "fp32"
        torch.backends.cuda.matmul.allow_tf32 = fast
        torch.backends.cudnn.allow_tf32 = fast
    return device, config.seed if seed is None else seed, resolved or resolve_weights(config.backbone, weights)


def decoder_noise(config: DTPConfig, shape: torch.Size, seed: int, device: torch.device) -> torch.Tensor | None:
    """The fixed decoder input of the "no warped feature" ablation (None otherwise)."""
    if config.use_warped_feature:
        return None
    grid = correlation_grid(shape[-2] // 4, shape[-1] // 4, config.corr_size)
    generator = torch.Generator().manual_seed(seed + 1)
    return torch.randn(1, Decoder.in_channels, *grid, generator=generator).to(device)


def should_stop(history: list[torch.Tensor], config: DTPConfig) -> bool:
    """The optional stopping rule: the mean total loss of the last `stop_window` iterations changed
    by less than `stop_tolerance` (relative) from the window before. Checked once per window."""
    window = config.stop_window
    if config.stop_tolerance <= 0 or len(history) < max(2 * window, config.stop_min_iterations) or len(history) % window:
        return False
    totals = torch.stack(history[-2 * window:])[:, 0]
    previous, last = totals[:window].mean().item(), totals[window:].mean().item()
    return abs(previous - last) <= config.stop_tolerance * abs(previous)


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: DTPConfig = DTPConfig(), device="auto",
            seed: int | None = None, progress: bool | None = None, weights=None,
            resolved: ResolvedWeights | None = None, loss_log: str | Path | None = None) -> StylizeResult:
    """Deep Translation Prior on one pair. Inputs: RGB (1, 3, H, W) in [0, 1], same shape.

    `progress`: None shows a bar on a terminal, else a progress line at least once a minute on
    stderr (`dtp_core.progress`); True always the bar; False nothing. `weights`: an explicit
    backbone weights file; `resolved`: an already resolved one (skips the lookup). `loss_log`: a CSV
    the loss terms are appended to while the run goes (`outputs.partial_loss_csv_path`), so that a
    killed run leaves the iterations it did; the result's `losses` are the whole curve either way.
    """
    check_same_shape(content, style)
    device, seed, resolved = prepare_run(config, device, seed, weights, resolved)

    with Meter(device) as meter, LossStream([loss_log], LOSS_TERMS) as curve:
        nets = build_networks(config, resolved, device, seed)
        x_content, x_style = normalize(content.to(device)), normalize(style.to(device))
        nets.noise = decoder_noise(config, x_content.shape, seed, device)
        optimizers = make_optimizers(nets, config)
        history, snapshots = [], {}
        previous = None
        bar = tqdm(range(config.iterations), disable=None if progress is None else not progress,
                   desc="DTP", unit="it", dynamic_ncols=True)
        lines = ProgressLines.for_run(progress, config.iterations, LOSS_TERMS)
        for iteration in bar:
            step = train_step(nets, optimizers, x_content, x_style, config, previous)
            previous = step.output_feature
            history.append(step.terms)
            if iteration in config.snapshots:
                snapshots[iteration] = to_rgb(step.output)
            if not bar.disable and (iteration % 10 == 0 or iteration == config.iterations - 1):
                bar.set_postfix({k: f"{v:.4f}" for k, v in zip(LOSS_TERMS, step.terms.tolist())})
            stop = should_stop(history, config)
            lines.update(iteration, step.terms, last=stop)
            curve.update(iteration, step.terms)
            if stop:
                break
        image = to_rgb(step.output)
        warped = to_rgb(F.interpolate(step.warped_image, size=content.shape[-2:], mode="bilinear"))
    facts = run_facts(config, seed, resolved, device, meter, history, content.shape)
    return StylizeResult(image=image, facts=facts, losses=loss_rows(history), snapshots=snapshots,
                         extras={"warped": warped})


def check_same_shape(content: torch.Tensor, style: torch.Tensor) -> None:
    check_pair(content, style)
    if content.shape != style.shape:
        raise ValueError(f"content {tuple(content.shape)} and style {tuple(style.shape)} must have the same shape "
                         "(dtp_core.images.load_pair resizes both)")


def loss_rows(history: list[torch.Tensor]) -> list[dict]:
    return [dict(iteration=i, **dict(zip(LOSS_TERMS, row))) for i, row in enumerate(torch.stack(history).tolist())]


def run_facts(config: DTPConfig, seed: int, resolved: ResolvedWeights, device: torch.device, meter: Meter,
              history: list[torch.Tensor], shape, **extra) -> dict:
    """What the sidecar records about a DTP run: the facts every method records
    (`records.sidecar_facts`), then DTP's own (early stop, last loss terms, the arithmetic used)."""
    iterations_run = len(history)  # >= 1: the loop appends before it can stop
    return sidecar_facts(
        "dtp", config, seed=seed, input_shape=shape, backbone=resolved.record(), meter=meter, device=device,
        iterations=iterations_run,
        stopped_early=iterations_run < config.iterations,
        final_losses=dict(zip(LOSS_TERMS, history[-1].tolist())) if history else {},
        numerics=numerics(config, device),
        **extra)


def to_rgb(normalised: torch.Tensor) -> torch.Tensor:
    """A normalised output as an RGB image in [0, 1] on the CPU."""
    return denormalize(normalised.detach().float()).clamp(0, 1).cpu()
