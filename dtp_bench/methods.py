"""The method registry: every name the config and the tables use -> how to run that method.

A `MethodSpec` holds the method's `stylize` callable (the call shape of `dtp_core.method`), a
function that builds its config object from the workflow's parameter dict, and what it needs.
The config schema's method enum is checked against `METHODS` by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from baselines import dpst, gatys, histogram, identity, reinhard, sinir, strotss, warped_style
from baselines import checkpoints, cocosnet, swapping_ae, wct, wct2
from dtp_core import batched, trainer
from dtp_core.config import PRESET_DESCRIPTIONS, PRESETS, DTPConfig


@dataclass(frozen=True)
class MethodSpec:
    name: str
    stylize: Callable[..., Any]             # stylize(content, style, *, config, device, seed, progress)
    make_config: Callable[[dict], Any]      # workflow parameters -> the method's config object
    kind: str                               # "dtp" | "ablation" | "baseline" | "reference" | "precomputed"
    description: str
    needs_gpu: bool = False                 # runs on the CPU too, but wants a GPU (resources: gpu=1)
    weights: tuple[str, ...] = ()           # files it needs beyond the backbone
    table_label: str | None = None          # row label in results/table1.csv (None: not a Table 1 row)
    paper_row: str | None = None            # the matching row of the paper's Table 1 (SPEC.md)
    stylize_many: Callable[..., Any] | None = None  # several pairs as one computation (batch_pairs > 1)
    extra: dict = field(default_factory=dict)


def _dtp_config_builder(preset_name: str) -> Callable[[dict], DTPConfig]:
    def build(params: dict) -> DTPConfig:
        return DTPConfig.from_dict({**PRESETS[preset_name], **(params or {})})
    return build


_DTP_LABELS = {"dtp_lc4_5": "DTP, lambda_c = 4/5", "dtp_lc1_5": "DTP, lambda_c = 1/5"}

METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    METHODS[spec.name] = spec
    return spec


for _name in PRESETS:
    register(MethodSpec(
        name=_name, stylize=trainer.stylize, stylize_many=batched.stylize_many, make_config=_dtp_config_builder(_name),
        kind="dtp" if _name in _DTP_LABELS else "ablation", description=PRESET_DESCRIPTIONS[_name],
        needs_gpu=True, table_label=_DTP_LABELS.get(_name), paper_row=_DTP_LABELS.get(_name)))


# Methods that need no one's trained weights (the VGG loss network aside): optimising baselines,
# references, and DPST's committed outputs.

register(MethodSpec(
    name="gatys", stylize=gatys.stylize, make_config=gatys.GatysConfig.from_dict, kind="baseline",
    description="Gatys et al. 2016: the image optimised (L-BFGS) for VGG content + Gram style losses",
    needs_gpu=True, table_label="Gatys et al.", paper_row="Gatys et al."))
register(MethodSpec(
    name="strotss", stylize=strotss.stylize, make_config=strotss.StrotssConfig.from_dict, kind="baseline",
    description="STROTSS (Kolkin et al. 2019): relaxed EMD style + self-similarity content, multi-scale",
    needs_gpu=True, table_label="STROTSS", paper_row="STROTSS"))
register(MethodSpec(
    name="sinir", stylize=sinir.stylize, make_config=sinir.SinIRConfig.from_dict, kind="baseline",
    description="SinIR (Yoo & Chen 2021): networks trained on the style alone, the content mapped through",
    needs_gpu=True, table_label="SinIR", paper_row="SinIR"))
register(MethodSpec(
    name="identity", stylize=identity.stylize, make_config=identity.IdentityConfig.from_dict, kind="reference",
    description="reference: the content unchanged", table_label="Identity (content)"))
register(MethodSpec(
    name="reinhard", stylize=reinhard.stylize, make_config=reinhard.ReinhardConfig.from_dict, kind="reference",
    description="reference: Reinhard et al. 2001 colour transfer (mean/std in l-alpha-beta)",
    table_label="Reinhard et al."))
register(MethodSpec(
    name="histogram", stylize=histogram.stylize, make_config=histogram.HistogramConfig.from_dict, kind="reference",
    description="reference: per-channel RGB histogram matching (scikit-image)", table_label="Histogram matching"))
register(MethodSpec(
    name="warped_style", stylize=warped_style.stylize, make_config=warped_style.WarpedStyleConfig.from_dict,
    kind="reference", description="reference: DTP's warped style image at iteration 0 (no decoder, no training)",
    table_label="DTP warped style (iteration 0)"))
register(MethodSpec(
    name="dpst", stylize=dpst.stylize, make_config=dpst.DPSTConfig.from_dict, kind="precomputed",
    description="DPST (Luan et al. 2017): the authors' committed outputs, resized to the protocol",
    table_label="DPST (authors' outputs)",
    # The job fills the `file` parameter from the pair's `dpst_output` extra (a fetched file).
    extra={"params_from_pair": {"file": "dpst_output"}}))


# Methods that need their authors' released checkpoints (baselines/weights.yaml); without them the
# cell is "unavailable: needs FILE from URL".

register(MethodSpec(
    name="wct", stylize=wct.stylize, make_config=wct.WCTConfig.from_dict, kind="baseline",
    description="WCT (Li et al. 2017): whitening-colouring transforms at relu5_1..relu1_1, the authors' decoders",
    needs_gpu=True, weights=wct.PTH_FILES, table_label="WCT", paper_row="WCT", extra={"alternative_weights": wct.T7_FILES}))
register(MethodSpec(
    name="wct2", stylize=wct2.stylize, make_config=wct2.WCT2Config.from_dict, kind="baseline",
    description="WCT2 (Yoo et al. 2019): wavelet-pooling autoencoder, WCT at encoder, skips and decoder",
    needs_gpu=True, weights=wct2.FILES, table_label="WCT2", paper_row="WCT2"))
register(MethodSpec(
    name="swapping_ae", stylize=swapping_ae.stylize, make_config=swapping_ae.SwappingAEConfig.from_dict,
    kind="baseline", description="Swapping Autoencoder (Park et al. 2020): content structure code + style texture code",
    needs_gpu=True, weights=tuple(f"{m}/{swapping_ae.CHECKPOINT}" for m in swapping_ae.MODELS),
    table_label="Swapping AE", paper_row="Swapping AE"))
register(MethodSpec(
    name="cocosnet", stylize=cocosnet.stylize, make_config=cocosnet.CoCosNetConfig.from_dict, kind="baseline",
    description="CoCosNet (Zhang et al. 2020): CelebA-HQ edge-to-face translation with the style face as exemplar",
    needs_gpu=True, weights=cocosnet.FILES, table_label="CoCosNet", paper_row="CoCosNet"))


def get(name: str) -> MethodSpec:
    if name not in METHODS:
        from dtp_core.errors import ConfigError
        raise ConfigError("method", f"unknown method {name!r}", f"use one of {sorted(METHODS)}")
    return METHODS[name]


def weight_files(name: str, params: dict | None = None) -> tuple[Path, ...]:
    """Every checkpoint file method `name` looks for (either released set, where it accepts two), at
    the place it looks: ``<weights_dir>/<name>/<file>``, `weights_dir` being the method's parameter,
    else $DTP_WEIGHTS_DIR, else data/weights (`baselines.checkpoints.locate`). Empty for methods
    that need no one's checkpoints."""
    spec = get(name)
    names = spec.weights + tuple(spec.extra.get("alternative_weights", ()))
    folder = checkpoints.weights_dir((params or {}).get("weights_dir")) / name
    return tuple(folder / file for file in names)


def files_state(paths: Iterable[str | os.PathLike]) -> str:
    """``path size mtime_ns`` or ``path absent`` per file, one stat each (no reading): it changes when
    a file appears, goes or is replaced. The workflow makes it part of a job's parameters, so that a
    cell that said "unavailable" for want of a file is redone once the file is there."""
    states = []
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            states.append(f"{path} absent")
        else:
            states.append(f"{path} {stat.st_size} {stat.st_mtime_ns}")
    return "; ".join(states)
