"""Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016.

The output image itself is optimised (L-BFGS) so that its VGG-19 activations at relu4_2 match the
content's and the Gram matrices of its relu1_1 .. relu5_1 activations match the style's.

Defaults are the authors' own PyTorch implementation (leongatys/PytorchNeuralStyleTransfer,
`NeuralStyleTransfer.ipynb`): style layers relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 with
weights 1e3 / N_l^2 (N_l = 64, 128, 256, 512, 512 channels), content layer relu4_2 with weight 1,
Gram matrices divided by the number of positions, mean-squared losses, `torch.optim.LBFGS` with
its defaults (lr 1, 20 iterations per step, history 100), 500 loss evaluations, the optimisation
started from the content image. Average pooling is the paper's (Sec. 2). Two things cannot be the
authors': their VGG-19 file is a rescaled ("normalised") Caffe network fed 0..255 BGR input; here
torchvision's ImageNet weights see ImageNet-normalised RGB, so the loss balance is not identical;
and where VGG-19 weights cannot be found the VGG-16 stand-in is used (same layer names), which
the output's `backbone_note` says.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dtp_core.backbone import ResolvedWeights, resolve_weights
from dtp_core.images import denormalize, normalize
from dtp_core.method import StylizeResult
from dtp_core.records import Meter

from . import runs
from .config import BaselineConfig, positive_int, positive_number, require
from .vgg_losses import feature_loss, frozen_encoder, gram_matrix, gram_loss, relu_indices, vgg_features

LOSS_TERMS = ("total", "content", "style")


@dataclass(frozen=True)
class GatysConfig(BaselineConfig):
    iterations: int = 500                 # loss evaluations (the notebook's max_iter)
    backbone: str = "vgg19"               # the paper's; "vgg16" is the offline stand-in
    content_layers: tuple[str, ...] = ("relu4_2",)
    content_weights: tuple[float, ...] = (1.0,)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_weights: tuple[float, ...] = tuple(1e3 / n ** 2 for n in (64, 128, 256, 512, 512))
    pooling: str = "avg"                  # "avg" (paper) or "max" (the notebook's VGG default)
    init: str = "content"                 # "content" (authors' code) or "noise" (the paper's figures)
    lbfgs_step_iterations: int = 20       # torch.optim.LBFGS max_iter per step (its default)
    lbfgs_history: int = 100              # torch.optim.LBFGS history_size (its default)
    seed: int = runs.DEFAULT_SEED         # only the "noise" start draws random numbers
    deterministic: bool = False

    def __post_init__(self):
        for name in ("iterations", "lbfgs_step_iterations", "lbfgs_history"):
            require(positive_int(getattr(self, name)), name, f"must be a positive integer, got {getattr(self, name)!r}")
        require(self.backbone in ("vgg19", "vgg16"), "backbone", f"unknown backbone {self.backbone!r}", "use vgg19 or vgg16")
        require(self.pooling in ("avg", "max"), "pooling", f"must be 'avg' or 'max', got {self.pooling!r}")
        require(self.init in ("content", "noise"), "init", f"must be 'content' or 'noise', got {self.init!r}")
        for layers, weights in (("content_layers", "content_weights"), ("style_layers", "style_weights")):
            require(len(getattr(self, layers)) == len(getattr(self, weights)) > 0, weights,
                    f"needs one weight per layer of {layers}")
            require(all(positive_number(w) or w == 0 for w in getattr(self, weights)), weights, "weights must be >= 0")
        # VGG-19 layer names are also VGG-16's except relu3_4, relu4_4, relu5_4.
        known = relu_indices("vgg16")
        unknown = [layer for layer in self.content_layers + self.style_layers if layer not in known]
        require(not unknown, "content_layers / style_layers", f"{unknown} are not layers of both VGG-16 and VGG-19",
                f"use names such as {', '.join(list(known)[:4])}")


def stylize(content: torch.Tensor, style: torch.Tensor, *, config: GatysConfig = GatysConfig(), device="auto",
            seed: int | None = None, progress: bool | None = None, weights=None,
            resolved: ResolvedWeights | None = None) -> StylizeResult:
    """Gatys et al. on one pair. Inputs: RGB (1, 3, H, W) in [0, 1]; content and style may differ in size."""
    device, seed = runs.start(content, style, config, device, seed)
    resolved = resolved or resolve_weights(config.backbone, weights)
    layers = config.content_layers + config.style_layers
    n_content = len(config.content_layers)

    with Meter(device) as meter:
        encoder = frozen_encoder(resolved, device)
        x_content, x_style = normalize(content.to(device)), normalize(style.to(device))
        with torch.no_grad():
            content_targets = vgg_features(encoder, x_content, config.content_layers, config.pooling)
            style_targets = [gram_matrix(f) for f in vgg_features(encoder, x_style, config.style_layers, config.pooling)]
        if config.init == "content":
            start = x_content.clone()
        else:
            start = torch.randn(x_content.shape, generator=torch.Generator().manual_seed(seed)).to(device)
        # L-BFGS flattens the gradient with .view(-1): the image must be contiguous (a tensor made
        # from an HWC array by `to_tensor` is not).
        image = start.contiguous().requires_grad_(True)
        optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=config.lbfgs_step_iterations,
                                      history_size=config.lbfgs_history)
        history: list[torch.Tensor] = []
        bar = runs.progress_bar(config.iterations, progress, "Gatys")

        def closure():
            optimizer.zero_grad(set_to_none=True)
            features = vgg_features(encoder, image, layers, config.pooling)
            content_loss = sum(w * feature_loss(f, t) for w, f, t in
                               zip(config.content_weights, features[:n_content], content_targets))
            style_loss = sum(w * gram_loss(f, t) for w, f, t in
                             zip(config.style_weights, features[n_content:], style_targets))
            total = content_loss + style_loss
            total.backward()
            history.append(torch.stack([total, content_loss, style_loss]).detach())
            bar.update(1)
            return total

        # Each L-BFGS step evaluates the loss up to `max_iter` times; the last step is cut short
        # so that exactly `iterations` evaluations are made.
        while len(history) < config.iterations:
            remaining = config.iterations - len(history)
            optimizer.param_groups[0]["max_iter"] = min(config.lbfgs_step_iterations, remaining)
            optimizer.param_groups[0]["max_eval"] = min(config.lbfgs_step_iterations, remaining)
            optimizer.step(closure)
        bar.close()
        output = runs.to_rgb(denormalize(image.detach()))

    losses = runs.loss_rows(LOSS_TERMS, history)
    facts = runs.facts("gatys", config, seed=seed, content=content, style=style, meter=meter, device=device,
                       resolved=resolved, iterations=len(history), final_losses=losses[-1] if losses else {})
    return StylizeResult(image=output, facts=facts, losses=losses)
