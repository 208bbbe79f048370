"""What the tables and figures say about each method: its kind, description, Table 1 label and the
paper's row, by the names the config uses, in the registry's order.

A light table (it imports no torch and not `dtp_bench.methods`, which loads every method): the
gather stage reads it without loading a network. `dtp_bench.methods` takes these facts from here,
so they are written once; a test checks that every registered method has its row.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtp_core.config import PRESET_DESCRIPTIONS, PRESETS

from . import plugins
from .delivered import split_delivered

KINDS = ("dtp", "ablation", "baseline", "reference", "precomputed")
KIND_ORDER = ("dtp", "baseline", "precomputed", "ablation", "reference", "unknown")  # the tables' row order


@dataclass(frozen=True)
class MethodLabel:
    name: str
    kind: str                      # one of KINDS
    description: str
    table_label: str | None = None  # row label in results/table1.csv (None: not a Table 1 row)
    paper_row: str | None = None    # the matching row of the paper's Table 1 (SPEC.md, `dtp_bench.paper`)

    @property
    def label(self) -> str:
        """What a table or figure calls the method: its Table 1 label, else its name."""
        return self.table_label or self.name


# The paper's two reported settings; the other presets are its Fig. 5 ablations.
_DTP_ROWS = {"dtp_lc4_5": "DTP, lambda_c = 4/5", "dtp_lc1_5": "DTP, lambda_c = 1/5"}

LABELS: dict[str, MethodLabel] = {row.name: row for row in (
    *(MethodLabel(name, "dtp" if name in _DTP_ROWS else "ablation", PRESET_DESCRIPTIONS[name],
                  _DTP_ROWS.get(name), _DTP_ROWS.get(name)) for name in PRESETS),
    # Methods that need no one's trained weights (the VGG loss network aside): optimising
    # baselines, references, and DPST's committed outputs.
    MethodLabel("gatys", "baseline", "Gatys et al. 2016: the image optimised (L-BFGS) for VGG content + Gram style losses",
                "Gatys et al.", "Gatys et al."),
    MethodLabel("strotss", "baseline",
                "STROTSS (Kolkin et al. 2019): relaxed EMD style + self-similarity content, multi-scale",
                "STROTSS", "STROTSS"),
    MethodLabel("sinir", "baseline",
                "SinIR (Yoo & Chen 2021): networks trained on the style alone, the content mapped through",
                "SinIR", "SinIR"),
    MethodLabel("identity", "reference", "reference: the content unchanged", "Identity (content)"),
    MethodLabel("reinhard", "reference", "reference: Reinhard et al. 2001 colour transfer (mean/std in l-alpha-beta)",
                "Reinhard et al."),
    MethodLabel("histogram", "reference", "reference: per-channel RGB histogram matching (scikit-image)",
                "Histogram matching"),
    MethodLabel("warped_style", "reference",
                "reference: DTP's warped style image at iteration 0 (no decoder, no training)",
                "DTP warped style (iteration 0)"),
    MethodLabel("dpst", "precomputed", "DPST (Luan et al. 2017): the authors' committed outputs, resized to the protocol",
                "DPST (authors' outputs)"),
    # Methods that need their authors' released checkpoints.
    MethodLabel("wct", "baseline",
                "WCT (Li et al. 2017): whitening-colouring transforms at relu5_1..relu1_1, the authors' decoders",
                "WCT", "WCT"),
    MethodLabel("wct2", "baseline", "WCT2 (Yoo et al. 2019): wavelet-pooling autoencoder, WCT at encoder, skips and decoder",
                "WCT2", "WCT2"),
    MethodLabel("swapping_ae", "baseline",
                "Swapping Autoencoder (Park et al. 2020): content structure code + style texture code",
                "Swapping AE", "Swapping AE"),
    MethodLabel("cocosnet", "baseline",
                "CoCosNet (Zhang et al. 2020): CelebA-HQ edge-to-face translation with the style face as exemplar",
                "CoCosNet", "CoCosNet"),
)}

BUILT_IN = tuple(LABELS)  # this repository's methods; installed plugins (dtp_bench.plugins) follow them

for _plugin in plugins.discover():
    if _plugin.name in LABELS:
        raise ValueError(f"method plugin {_plugin.name!r} has the name of a built-in method. "
                         "Fix: rename the plugin's entry point")
    LABELS[_plugin.name] = MethodLabel(_plugin.name, _plugin.kind, _plugin.description, _plugin.table_label,
                                       _plugin.paper_row)


def method_info(name: str) -> dict:
    """Label, kind, paper row and description of a method, or of its delivered variant
    `<method>@<size>` (the deliver stage's: its own row, labelled with the size, never one of the
    paper's rows); kind "unknown" for a name not in LABELS."""
    method, delivered_at = split_delivered(name)
    row = LABELS.get(method)
    if row is None:
        return {"method": name, "label": name, "kind": "unknown", "paper_row": None, "description": ""}
    if delivered_at:
        return {"method": name, "label": f"{row.label}, delivered at {delivered_at}", "kind": row.kind,
                "paper_row": None, "description": f"{row.description} (working-size output upsampled: dtp_core.fullres)"}
    return {"method": name, "label": row.label, "kind": row.kind, "paper_row": row.paper_row,
            "description": row.description}


def sort_key(info: dict) -> tuple:
    """The order of `method_info` rows: by kind (KIND_ORDER), then in LABELS' order (the paper's, for
    DTP and its ablations), a delivered variant right after its method."""
    names = list(LABELS)
    kind = KIND_ORDER.index(info["kind"]) if info["kind"] in KIND_ORDER else len(KIND_ORDER)
    method = split_delivered(info["method"])[0]
    return (kind, names.index(method) if method in names else len(names), info["method"])
