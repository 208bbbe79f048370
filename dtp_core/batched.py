"""Many pairs in one process: B independent DTP runs as one batched computation.

Each pair keeps its own encoder and decoder weights (stacked along a leading dimension with
`torch.func.stack_module_state`), and one `torch.func.vmap` of the same `trainer.forward` computes
all B iterations at once; Adam is element-wise, so one optimiser over the stacked weights is B
independent optimisers. The results equal B separate `trainer.stylize` runs with the same seed
(tests/test_dtp_batched.py). All pairs share the seed (the protocol's: 1006 for every pair), and
so the random loss positions, exactly as separate runs do.

On a GPU this turns B small launches into B-wide kernels; on a CPU, which an iteration already
keeps busy, it mainly saves the per-process start-up (benchmarks/speed.py --batch).

Off a terminal the batch prints one progress line per pair (`DTP xB[i]`, i as in the sidecar's
`batch.index`) whenever a line is due: the iteration count and the timing are the batch's, but a
mean of the pairs' losses would hide the one pair that goes wrong; each pair's curve also grows in
its own `loss_logs` file.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from .backbone import ResolvedWeights
from .config import DTPConfig
from .images import normalize
from .method import StylizeResult
from .progress import LossStream, ProgressLines
from .records import Meter
from .trainer import (LOSS_TERMS, Networks, to_rgb, build_networks, check_same_shape, decoder_noise, descend, forward,
                      loss_rows, prepare_run, run_facts)


def stylize_many(contents: list[torch.Tensor], styles: list[torch.Tensor], *, config: DTPConfig = DTPConfig(),
                 device="auto", seed: int | None = None, progress: bool | None = None, weights=None,
                 resolved: ResolvedWeights | None = None,
                 loss_logs: Sequence[str | Path | None] | None = None) -> list[StylizeResult]:
    """DTP on B pairs at once; every pair (1, 3, H, W) in [0, 1], all of one shape. `progress` and
    `loss_logs` (one CSV per pair, or None) as `trainer.stylize`'s `progress` and `loss_log`."""
    if not contents or len(contents) != len(styles):
        raise ValueError(f"need as many styles as contents (got {len(contents)} and {len(styles)}), at least one")
    loss_logs = [None] * len(contents) if loss_logs is None else list(loss_logs)
    if len(loss_logs) != len(contents):
        raise ValueError(f"need one loss log (or None) per pair: got {len(loss_logs)} for {len(contents)} pairs")
    for content, style in zip(contents, styles):
        check_same_shape(content, style)
        if content.shape != contents[0].shape:
            raise ValueError(f"every pair must have one shape; got {tuple(content.shape)} and {tuple(contents[0].shape)}")
    # Activation checkpointing cannot recompute inside vmap: batched runs keep every activation
    # (the decoder's and a dense correlation), trading memory for the batch. Same maths.
    config = config.replace(low_memory=False, corr_chunk=0)
    device, seed, resolved = prepare_run(config, device, seed, weights, resolved)
    count = len(contents)

    with Meter(device) as meter, LossStream(loss_logs, LOSS_TERMS) as curves:
        nets = [build_networks(config, resolved, device, seed) for _ in range(count)]
        template = copy.deepcopy(nets[0])
        template.encoder.to("meta")
        modules = {"encoder": [n.encoder for n in nets]}
        if config.use_decoder:
            template.decoder.to("meta")
            modules["decoder"] = [n.decoder for n in nets]
        stacked = {name: stack_module_state(group)[0] for name, group in modules.items()}
        for group in stacked.values():
            for value in group.values():
                value.requires_grad_(True)
        del nets, modules
        optimizers = [torch.optim.Adam(group.values(), lr=config.lr, betas=config.betas) for group in stacked.values()]
        x_content = normalize(torch.cat(contents).to(device)).unsqueeze(1)  # (B, 1, 3, H, W)
        x_style = normalize(torch.cat(styles).to(device)).unsqueeze(1)
        noise = decoder_noise(config, contents[0].shape, seed, device)
        positions = torch.Generator().manual_seed(seed)

        def one_pair(params, content, style, previous):
            encoder = functools.partial(functional_call, template.encoder, params["encoder"])
            decoder = (functools.partial(functional_call, template.decoder, params["decoder"])
                       if "decoder" in params else None)
            step = forward(Networks(_Call(encoder), decoder, noise, positions), content, style, config, previous)
            return step.total, step.terms, step.output, step.warped_image, step.output_feature

        # randomness="same": every pair draws the same loss positions, as separate runs with one seed do
        first = vmap(lambda p, c, s: one_pair(p, c, s, None), randomness="same")
        later = vmap(one_pair, randomness="same")
        history, snapshots, previous = [], {i: {} for i in range(count)}, None
        bar = tqdm(range(config.iterations), disable=None if progress is None else not progress,
                   desc=f"DTP x{count}", unit="it", dynamic_ncols=True)
        lines = ProgressLines.for_run(progress, config.iterations, LOSS_TERMS, f"DTP x{count}")
        for iteration in bar:
            out = first(stacked, x_content, x_style) if previous is None else later(stacked, x_content, x_style, previous)
            total, terms, output, warped_image, previous = out
            descend(optimizers, total.sum())  # the pairs share no weights: each gets its own gradient
            previous = previous.detach()
            history.append(terms.detach())
            lines.update(iteration, history[-1])
            curves.update(iteration, history[-1])
            if iteration in config.snapshots:
                for i in range(count):
                    snapshots[i][iteration] = to_rgb(output[i])

    results = []
    for i in range(count):
        pair_history = [row[i] for row in history]
        warped = to_rgb(F.interpolate(warped_image[i], size=contents[0].shape[-2:], mode="bilinear"))
        facts = run_facts(config, seed, resolved, device, meter, pair_history, contents[i].shape,
                          batch={"pairs": count, "index": i, "seconds_are_for_the_whole_batch": True})
        results.append(StylizeResult(image=to_rgb(output[i]), facts=facts, losses=loss_rows(pair_history),
                                     snapshots=snapshots[i], extras={"warped": warped}))
    return results


class _Call:
    """An encoder stand-in whose call forwards keyword arguments (levels, from_level)."""

    def __init__(self, function):
        self.function = function

    def __call__(self, x, **kwargs):
        return self.function((x,), kwargs)
