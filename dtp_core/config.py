"""`DTPConfig`: every constant of the method (SPEC.md), as a typed, validated dataclass.

Defaults are the authors' code (HEAD 93b8fd8). Where the paper reads differently, a field selects
the paper's reading (`center`, `style_distance`, `decoder_padding`). Named presets give the paper's
two reported settings and the five ablations of its Fig. 5, by the names the workflow uses.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, fields
from typing import TypeVar

from .errors import ConfigError


_Config = TypeVar("_Config", bound="MethodConfig")  # the subclass a helper returns (typing.Self needs 3.11)


class MethodConfig:
    """What every method's typed config shares: `DTPConfig` and each baseline's config (through
    `baselines.config.BaselineConfig`). Built from the workflow's parameters (`typed_fields`: the
    one reading, so the parse-time check and the job agree), recorded whole in the sidecar and its
    non-defaults apart (CUT's opt.txt lesson). For frozen dataclasses whose fields all have defaults.
    """

    def replace(self: _Config, **changes) -> _Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def non_defaults(self) -> dict:
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def unknown_parameter(cls) -> str:
        """The problem an unknown parameter name is refused with (the config's own wording)."""
        return f"is not a parameter of {cls.__name__}"

    @classmethod
    def from_dict(cls: type[_Config], values: dict | None) -> _Config:
        """From the workflow's parameters (YAML, JSON, or `--config` strings: see `typed_fields`); the
        dataclass's own checks (`__post_init__`) then run as for any other construction."""
        return cls(**typed_fields(cls, values, cls.unknown_parameter()))


@dataclass(frozen=True)
class DTPConfig(MethodConfig):
    # Inputs
    size: int = 256                       # images are resized to size x size (bilinear)
    keep_aspect: bool = False             # long side = size instead, aspect ratio kept
    backbone: str = "vgg19"               # "vgg19" (paper) or "vgg16"
    # Optimisation
    iterations: int = 1000
    lr: float = 1e-4                      # both Adam optimisers (encoder, decoder)
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 1006
    deterministic: bool = False           # torch deterministic algorithms (slower on CUDA)
    snapshots: tuple[int, ...] = (0, 499, 999)  # iterations whose output is also saved
    # Optional stopping rule (off by default: the paper runs all iterations): stop once the mean
    # total loss of the last `stop_window` iterations moved less than `stop_tolerance` (relative).
    stop_tolerance: float = 0.0
    stop_window: int = 50
    stop_min_iterations: int = 200
    # Loss weights: L = lambda_c * L_content + (1 - lambda_c) * L_style + lambda_cyc * L_cycle
    lambda_c: float = 1 / 5
    lambda_cyc: float = 1.0
    lambda_w: float = 1 / 9               # output = lambda_w * decoder + (1 - lambda_w) * warped image
    content_weights: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8)        # InfoNCE on levels 1..3
    style_weights: tuple[float, ...] = (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4)  # NN style, levels 1..5
    style_kernels: tuple[int, ...] = (3, 3, 3, 3, 1)                    # patch size per style level
    num_patches: int = 2048               # sampled positions per level per iteration
    tau_nce: float = 0.07
    nce_diagonal: float = -10.0           # value masking each positive out of its negatives
    # Correspondence
    tau_corr: float = 0.01                # softmax temperature (the code's; 0.07 in the paper is tau_nce)
    corr_size: int = 64                   # maps larger than this are resized to it (authors: 64; 0: never)
    corr_chunk: int = 4096                # above this many positions the correlation is streamed in chunks
    corr_kernel: int = 3                  # feature patches compared (3x3, padding 1)
    center: str = "vector"                # "vector": each patch vector centred by its own mean (code);
                                          # "spatial": centred by the mean over positions (paper Eq. 7)
    style_distance: str = "cosine"        # "cosine" (code) or "squared_l2" (paper's Frobenius reading)
    # Generation module
    decoder_padding: str = "zeros"        # "zeros" (code, through a typo) or "reflect" (intended)
    # Feature moving average: f_C <- (1 - fma_weight) f_C + fma_weight f_out(previous iteration)
    fma_weight: float = 0.6
    # Components (the Fig. 5 ablations switch these off)
    use_warped_feature: bool = True       # False: decoder input is fixed Gaussian noise
    use_warped_image: bool = True         # False: no residual, output = decoder(r)
    use_fma: bool = True
    use_decoder: bool = True              # False: output = warped image, upsampled
    # Speed and memory (no change to the maths; see docs/benchmarks.md)
    # "tf32" (default): on CUDA, convolutions and matrix products use TF32; on the CPU, fp32. "bf16":
    # the encoder and decoder run under bf16 autocast, channels-last, on CUDA and on the CPU (fast
    # where the CPU has AMX-BF16 or AVX512-BF16, emulated and slower elsewhere: the sidecar's
    # `numerics` says which). "fp32" is strict. The correlation softmax (tau = 0.01), the InfoNCE
    # logits and the style matching always stay fp32.
    precision: str = "tf32"
    compile: bool = False                 # torch.compile the encoder and decoder (CUDA, CPU; first steps compile)
    # True: recompute the decoder's full-resolution activations in backward and hand freed memory
    # back to the OS at once (glibc, process-wide): ~40% less peak RSS on the CPU, 1.3-2x slower
    # (docs/benchmarks.md, "Memory against speed"). Off by default: time is what users feel.
    low_memory: bool = False

    def __post_init__(self):
        _validate(self)

    @classmethod
    def unknown_parameter(cls) -> str:
        return "is not a DTP parameter"


def typed_fields(cls, values: dict | None, unknown: str) -> dict:
    """`values` as keyword arguments of the dataclass `cls`, each read as its field's declared type.

    The one reading of a method's parameters, shared by `DTPConfig` and every baseline's config (so
    the workflow's parse-time check and the job agree). YAML and JSON have no tuples: a list becomes
    one. Snakemake passes nested `--config` values as strings ("5", "0.8", "true", ["0", "20"]); a
    string becomes what it spells when that is of the field's type (int, float, bool, a tuple of
    them, or null for an optional field). Anything else of the wrong type is refused, naming the
    field and the type it needs; an unknown key is refused with `unknown` as the problem and the
    closest name. Values already of the right type are kept as they are (an int for a float stays
    an int), so a config file's values and their records do not change.
    """
    values = dict(values or {})
    known = [f.name for f in fields(cls)]
    for name in sorted(values):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(name, unknown, f"{hint}use one of {sorted(known)}")
    hints = typing.get_type_hints(cls)
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING
                else None if f.default_factory is dataclasses.MISSING else f.default_factory() for f in fields(cls)}
    return {name: _typed(name, value, hints[name], defaults[name]) for name, value in values.items()}


# What a `--config` string says for null (Snakemake cannot pass a YAML null on the command line).
NULL_WORDS = ("null", "none", "~", "")
_TRUE_WORDS, _FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _typed(name: str, value, kind, default):
    """`value` as `kind` (a field's type hint), or a ConfigError naming `name` and what it needs."""
    optional = False
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        optional = len(options) < len(typing.get_args(kind))
        if optional and (value is None or isinstance(value, str) and value.strip().lower() in NULL_WORDS):
            return None
        if len(options) != 1:
            return value  # no single type to read it as: the config class's own checks decide
        kind = options[0]
    if kind is tuple or typing.get_origin(kind) is tuple:
        return _typed_tuple(name, value, typing.get_args(kind), default, optional)
    scalar = read_scalar(value, kind)
    if scalar is REFUSED:
        wanted = _WANTED[kind]
        raise ConfigError(name, f"expected {wanted}, got {value!r}", _example(name, default, optional, wanted))
    return scalar


def _typed_tuple(name: str, value, args: tuple, default, optional: bool) -> tuple:
    """A list (or tuple) read item by item; `tuple[float, float]` also fixes how many."""
    fixed = bool(args) and args[-1] is not Ellipsis
    if args:
        element = args[0]
    else:  # a bare `tuple`: its default says what its items are
        present = {type(item) for item in default or ()}
        element = present.pop() if len(present) == 1 else object
    is_list = isinstance(value, (list, tuple))
    kinds = list(args) if fixed else [element] * (len(value) if is_list else 0)
    items = tuple(map(read_scalar, value, kinds)) if is_list and len(value) == len(kinds) else None
    if items is None or REFUSED in items:
        wanted = f"a list of {f'{len(args)} ' if fixed else ''}{_WANTED_PLURAL.get(element, 'values')}"
        raise ConfigError(name, f"expected {wanted}, got {value!r}", _example(name, default, optional, wanted))
    return items


REFUSED = object()
_WANTED = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_WANTED_PLURAL = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}


def read_scalar(value, kind):
    """`value` read as `kind` (int, float, bool, str; anything else: as it is), or REFUSED. Also
    the workflow's reading of `--config` numbers (`dtp_bench.config_check`)."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        word = value.strip().lower() if isinstance(value, str) else None
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else REFUSED
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(value.strip()) if isinstance(value, str) else REFUSED
        except ValueError:
            return REFUSED
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            number = float(value.strip()) if isinstance(value, str) else None
        except ValueError:
            return REFUSED
        return number if number is not None and math.isfinite(number) else REFUSED
    if kind is str:
        return value if isinstance(value, str) else REFUSED
    return value


def _example(name: str, default, optional: bool, wanted: str) -> str:
    if default is None:
        return f"write {wanted}, or null"
    shown = list(default) if isinstance(default, tuple) else str(default).lower() if isinstance(default, bool) else default
    return f"write e.g. {name}: {shown}" + (", or null" if optional else "")


def _validate(cfg: DTPConfig) -> None:
    def need(ok: bool, option: str, problem: str, fix: str = ""):
        if not ok:
            raise ConfigError(option, problem, fix)

    for name in ("size", "iterations", "num_patches", "corr_size", "corr_kernel", "corr_chunk", "stop_window",
                 "stop_min_iterations"):
        value = getattr(cfg, name)
        floor = 0 if name in ("corr_size", "corr_chunk") else 1
        need(isinstance(value, int) and not isinstance(value, bool) and value >= floor, name,
             f"must be an integer >= {floor}, got {value!r}")
    need(cfg.size >= 16, "size", f"{cfg.size} px is too small: VGG's deepest level needs at least 16 px", "use --size 16 or more")
    need(cfg.corr_kernel % 2 == 1, "corr_kernel", f"must be odd, got {cfg.corr_kernel}")
    for name in ("lambda_c", "lambda_w", "fma_weight"):
        value = getattr(cfg, name)
        need(isinstance(value, (int, float)) and 0.0 <= value <= 1.0, name, f"must be in [0, 1], got {value!r}")
    for name in ("lr", "tau_nce", "tau_corr"):
        value = getattr(cfg, name)
        need(isinstance(value, (int, float)) and value > 0, name, f"must be > 0, got {value!r}")
    need(isinstance(cfg.stop_tolerance, (int, float)) and cfg.stop_tolerance >= 0, "stop_tolerance",
         f"must be >= 0 (0: never stop early), got {cfg.stop_tolerance!r}")
    need(isinstance(cfg.lambda_cyc, (int, float)) and cfg.lambda_cyc >= 0, "lambda_cyc", f"must be >= 0, got {cfg.lambda_cyc!r}")
    need(len(cfg.betas) == 2 and all(0 <= b < 1 for b in cfg.betas), "betas", f"must be two numbers in [0, 1), got {cfg.betas!r}")
    need(len(cfg.content_weights) <= 5, "content_weights", "at most five levels")
    need(len(cfg.style_weights) == len(cfg.style_kernels) <= 5, "style_weights",
         "needs one kernel size per level (style_kernels) and at most five levels")
    need(all(k in (1, 3) for k in cfg.style_kernels), "style_kernels", f"each must be 1 or 3, got {cfg.style_kernels}")
    need(all(isinstance(s, int) and s >= 0 for s in cfg.snapshots), "snapshots", f"must be iteration numbers >= 0, got {cfg.snapshots!r}")
    need(cfg.backbone in ("vgg19", "vgg16"), "backbone", f"unknown backbone {cfg.backbone!r}", "use vgg19 or vgg16")
    need(cfg.center in ("vector", "spatial"), "center", f"must be 'vector' or 'spatial', got {cfg.center!r}")
    need(cfg.style_distance in ("cosine", "squared_l2"), "style_distance",
         f"must be 'cosine' or 'squared_l2', got {cfg.style_distance!r}")
    need(cfg.precision in ("fp32", "tf32", "bf16"), "precision", f"must be fp32, tf32 or bf16, got {cfg.precision!r}")
    need(cfg.decoder_padding in ("zeros", "reflect"), "decoder_padding",
         f"must be 'zeros' or 'reflect', got {cfg.decoder_padding!r}")
    need(cfg.use_decoder or cfg.use_warped_image, "use_decoder",
         "with no generation module the output is the warped image, so use_warped_image must stay on")


# The paper's two reported settings and its Fig. 5 ablations (on the default lambda_c = 1/5).
PRESETS: dict[str, dict] = {
    "dtp_lc1_5": {},
    "dtp_lc4_5": {"lambda_c": 4 / 5},
    "dtp_no_warped_feature": {"use_warped_feature": False},
    "dtp_no_warped_image": {"use_warped_image": False},
    "dtp_no_cycle": {"lambda_cyc": 0.0},
    "dtp_no_fma": {"use_fma": False},
    "dtp_no_generation": {"use_decoder": False},
}
PRESET_DESCRIPTIONS = {
    "dtp_lc1_5": "DTP, lambda_c = 1/5 (the authors' default)",
    "dtp_lc4_5": "DTP, lambda_c = 4/5",
    "dtp_no_warped_feature": "ablation: decoder input is noise, not the warped feature",
    "dtp_no_warped_image": "ablation: no warped-image residual",
    "dtp_no_cycle": "ablation: no cycle loss",
    "dtp_no_fma": "ablation: no feature moving average",
    "dtp_no_generation": "ablation: no generation module (output = warped image)",
}


def preset(name: str, **overrides) -> DTPConfig:
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}", f"use one of {sorted(PRESETS)}")
    return DTPConfig(**{**PRESETS[name], **overrides})
