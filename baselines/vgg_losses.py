"""VGG activations by layer name, and the feature losses of optimisation-based style transfer
(Gatys et al. 2016): Gram matrices and mean-squared feature differences.

The encoder is `dtp_core.backbone`'s (`load_encoder`); this module only reads more of its layers
than DTP's five taps, by the usual names (`relu4_2`), and can swap its max pooling for average
pooling as Gatys et al. do.
"""

from __future__ import annotations

import functools
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from dtp_core.backbone import BACKBONES, VGG_LAYERS, ResolvedWeights, VGGEncoder, load_encoder


@functools.lru_cache(maxsize=None)
def relu_indices(backbone: str) -> dict[str, int]:
    """`features` index of every ReLU of a torchvision VGG, by name: {"relu1_1": 1, ...}."""
    names, index, block, conv = {}, 0, 1, 0
    for entry in VGG_LAYERS[BACKBONES[backbone].cfg]:
        if entry == "M":
            index, block, conv = index + 1, block + 1, 0
        else:  # Conv2d then ReLU
            conv += 1
            names[f"relu{block}_{conv}"] = index + 1
            index += 2
    return names


def layer_index(backbone: str, layer: str) -> int:
    indices = relu_indices(backbone)
    if layer not in indices:
        raise ValueError(f"{backbone} has no layer {layer!r}; it has {', '.join(indices)}")
    return indices[layer]


def frozen_encoder(resolved: ResolvedWeights, device: torch.device) -> VGGEncoder:
    """The loss network: fixed weights, no parameter gradients (gradients flow to the image only)."""
    return load_encoder(resolved, device).eval().requires_grad_(False)


def vgg_features(encoder: VGGEncoder, x: torch.Tensor, layers: Sequence[str], pooling: str = "max") -> list[torch.Tensor]:
    """Activations of `layers` (ReLU names) for a normalised image batch, in the order asked.

    pooling="avg" replaces each 2x2 max pooling by an average pooling (Gatys et al. 2016, Sec. 2:
    "replacing the maximum pooling operation by average pooling yields slightly more appealing
    results"); the pass stops after the deepest layer asked for.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    wanted = {layer_index(encoder.spec.name, layer): position for position, layer in enumerate(layers)}
    outputs: list[torch.Tensor | None] = [None] * len(layers)
    for index in range(max(wanted) + 1):
        module = encoder.features[index]
        if pooling == "avg" and isinstance(module, nn.MaxPool2d):
            x = F.avg_pool2d(x, kernel_size=2, stride=2)
        else:
            x = module(x)
        if index in wanted:
            outputs[wanted[index]] = x
    return outputs


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C): channel inner products averaged over the H*W positions.

    Dividing by H*W (as the authors' PyTorch code does) makes Grams of images of different sizes
    comparable; the paper's 1/(4 N^2 M^2) factor is folded into the layer weights.
    """
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width)
    return torch.bmm(flat, flat.transpose(1, 2)) / (height * width)


def gram_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the Gram matrix of `features` and a target Gram."""
    return F.mse_loss(gram_matrix(features), target_gram)


def feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared feature difference (the content loss of Gatys et al., up to their factor 1/2)."""
    return F.mse_loss(features, target)
