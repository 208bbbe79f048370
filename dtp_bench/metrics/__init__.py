"""Metrics: one module per metric, each with a functional form; this registry says what each compares
and which direction is better. `scorer.Scorer` applies the configured ones to an output.

| name      | compares output with | better | module |
|-----------|----------------------|--------|--------|
| ssim      | content              | higher | ssim.py (piq) |
| pieapp    | content              | lower  | pieapp.py (piq, weights from a local file only) |
| lpips     | content              | lower  | lpips_content.py (lpips' linear layers, offline VGG-16) |
| gram      | style                | lower  | gram.py (VGG-16 Gram/covariance, relative Frobenius) |
| histogram | style                | lower  | histogram.py (Lab chi-square) |
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str          # column label in the tables (the paper's "PE" for PieAPP)
    reference: str      # "content" | "style": what the output is compared with
    direction: str      # "higher" | "lower": which is better
    description: str

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"


METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in (
    MetricSpec("ssim", "SSIM", "content", "higher", "structural similarity to the content (piq)"),
    MetricSpec("pieapp", "PE", "content", "lower", "PieAPP perceptual error against the content (piq)"),
    MetricSpec("lpips", "LPIPS", "content", "lower", "LPIPS-VGG distance to the content"),
    MetricSpec("gram", "Gram", "style", "lower", "relative Gram/covariance distance of VGG-16 features to the style"),
    MetricSpec("histogram", "Hist", "style", "lower", "Lab colour-histogram chi-square distance to the style"),
)}


def get(name: str) -> MetricSpec:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; use one of {sorted(METRICS)}")
    return METRICS[name]
