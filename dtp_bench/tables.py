"""Tables from the metrics files: every number is the mean of the per-pair JSON files behind it.

    results/metrics/<dataset>/<method>/<pair>.json  ->  load_metrics()  ->  one row per file
      -> table_full  (every metric: mean, std, count, 95% interval, and the paired difference from
                      DTP lambda_c = 1/5 on the same pairs, per method and dataset)
      -> cells       (the paper's datasets, pooled from ours by `table1_datasets`; PE and SSIM)
           -> table1 (the paper's layout), table1_vs_paper (ours beside the paper's, difference)
      -> ablation    (the Fig. 5 ablations beside the full model, every metric)

A cell with no number says why: "unavailable" (weights absent), "failed" (the job raised),
"not run" (no output of that method on that dataset); the reasons go to the row's `notes`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import paper, statistics
from .method_labels import LABELS, method_info, sort_key
from .metrics import METRICS
from .metrics.record import COST_KEYS, MetricsRecord
from .statistics import Interval, PairedComparison

# The paper's datasets, each pooled from one or more of ours (config: report.table1_datasets).
DEFAULT_TABLE1_DATASETS = {"Photo-R": ["photo-r"], "CelebA-HQ": ["celeba-hq"], "FFHQ": ["ffhq"]}
TABLE1_METRICS = ("pieapp", "ssim")
FULL_MODEL = "dtp_lc1_5"  # the ablations' reference and every method's paired comparison: the authors' default
DIGITS = 4  # decimals in table1.csv / table1_vs_paper.csv (table_full.csv keeps full precision)


# ---------------------------------------------------------------------------------------- loading
def load_metrics(files) -> pd.DataFrame:
    """One row per metrics file: dataset, method, pair_id, status, reason, cost, and per metric m the
    columns m (value), m_status, m_reason; `file` is the path the row came from."""
    rows = []
    for path in sorted(map(str, files)):
        record = MetricsRecord.from_json(json.loads(Path(path).read_text()))
        row = {key: getattr(record, key) for key in ("dataset", "method", "pair_id", "status", "reason", "backbone",
                                                     "backbone_note", "output", "content", "style", "sidecar")}
        row["pair_id"] = str(row["pair_id"])
        row["file"] = path
        row.update({key: record.cost.get(key) for key in COST_KEYS})
        row["ssim_convention"] = record.settings.get("ssim_convention")
        for name in METRICS:
            score = record.metrics.get(name)
            if score is None:
                row[name], row[f"{name}_status"], row[f"{name}_reason"] = math.nan, "not scored", "metric not enabled"
            else:
                row[name] = score.get("value", math.nan)
                row[f"{name}_status"], row[f"{name}_reason"] = score["status"], score.get("reason", "")
        rows.append(row)
    columns = ["dataset", "method", "pair_id", "status", "reason", "backbone", "backbone_note", "file"]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    for name in METRICS:
        if name in frame:
            frame[name] = frame[name].astype(float)
    return frame


# ------------------------------------------------------------------------------------- one cell
@dataclass
class Cell:
    mean: float | None
    std: float | None
    n: int                      # pairs with a number
    pairs: int                  # pairs behind the cell, whatever happened to them
    status: str                 # "ok" | "unavailable" | "failed" | "not run" | "not scored"
    reasons: list[str] = field(default_factory=list)
    interval: Interval | None = None   # 95% bootstrap interval of the mean over pairs (n >= 2)
    versus_full_model: PairedComparison | None = None  # minus FULL_MODEL on the same pairs

    def text(self, digits: int = DIGITS):
        return round(self.mean, digits) if self.n else self.status

    def text_with_interval(self, digits: int = 3) -> str:
        """'0.452 [0.411, 0.493] n=3', or the status of a cell without a number."""
        if not self.n:
            return self.status
        interval = f" {self.interval.text(digits)}" if self.interval else ""
        return f"{self.mean:.{digits}f}{interval} n={self.n}"


def scored(rows: pd.DataFrame, metric: str) -> pd.Series:
    """`metric`'s numbers in `rows`, by (dataset, pair_id): outputs that were made and scored."""
    ok = (rows["status"] == "ok") & (rows[f"{metric}_status"] == "ok")
    return rows.loc[ok].set_index(["dataset", "pair_id"])[metric].astype(float)


def versus_full_model(df: pd.DataFrame, rows: pd.DataFrame, metric: str) -> PairedComparison | None:
    """`rows`' method minus FULL_MODEL on the pairs where both have a number (None for FULL_MODEL itself
    or where FULL_MODEL did not run on these datasets)."""
    if rows.empty or set(rows["method"]) == {FULL_MODEL}:
        return None
    reference = df[(df["method"] == FULL_MODEL) & df["dataset"].isin(set(rows["dataset"]))]
    if reference.empty:
        return None
    ours, theirs = scored(rows, metric).align(scored(reference, metric), join="inner")
    return statistics.paired(ours.to_numpy(), theirs.to_numpy())


def summarise(rows: pd.DataFrame, metric: str, df: pd.DataFrame | None = None) -> Cell:
    """Mean, std (ddof 1), count and 95% interval of `metric` over `rows` (metrics-file rows), with why
    any is missing; given the whole frame `df`, also the paired difference from FULL_MODEL."""
    if rows.empty:
        return Cell(None, None, 0, 0, "not run", ["no output of this method on this dataset in this run"])
    metric_status = rows[f"{metric}_status"].where(rows["status"] == "ok", rows["status"])
    reasons_of = rows[f"{metric}_reason"].where(rows["status"] == "ok", rows["reason"])
    ok = metric_status == "ok"
    values = rows.loc[ok, metric].astype(float)
    missing = Counter(zip(metric_status[~ok], reasons_of[~ok].fillna("")))
    reasons = [_reason(status, reason, count, len(rows), partial=not values.empty)
               for (status, reason), count in missing.most_common()]
    if values.empty:
        # where outputs exist but none could be scored (PieAPP weights absent), that is the cell's
        # status, not the failures of the other jobs
        scored = rows[rows["status"] == "ok"]
        status = (Counter(scored[f"{metric}_status"]).most_common(1)[0][0] if len(scored)
                  else missing.most_common(1)[0][0][0])
        return Cell(None, None, 0, len(rows), status, reasons)
    std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    return Cell(float(values.mean()), std, len(values), len(rows), "ok", reasons,
                statistics.mean_interval(values), versus_full_model(df, rows, metric) if df is not None else None)


def _reason(status: str, reason: str, count: int, pairs: int, partial: bool) -> str:
    """'unavailable: needs X' for a cell with no number; '2 of 6 pairs failed: ...' beside a number."""
    text = reason if reason.startswith(status) else f"{status}: {reason}" if reason else status
    if partial or count != pairs:
        return f"{count} of {pairs} pairs {text}"
    return text


def _backbone(rows: pd.DataFrame) -> str:
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    names = set()
    for backbone, note in zip(ok.get("backbone", []), ok.get("backbone_note", [])):
        if isinstance(backbone, str) and backbone:
            names.add(f"{backbone} (stand-in for vgg19)" if isinstance(note, str) and note else backbone)
    return ", ".join(sorted(names)) or "none"


# ------------------------------------------------------------------------------------ table_full
def table_full(df: pd.DataFrame) -> pd.DataFrame:
    """Every metric's mean, std and count per (method, dataset), with pair counts by status and cost."""
    out = []
    groups = df.groupby(["method", "dataset"], sort=False) if not df.empty else []
    for (method, dataset), rows in groups:
        info = method_info(method)
        row = {"method": method, "label": info["label"], "kind": info["kind"], "dataset": dataset,
               "pairs": len(rows), **{f"n_{s}": int((rows["status"] == s).sum()) for s in ("ok", "unavailable", "failed")}}
        notes = []
        for name in METRICS:
            cell = summarise(rows, name, df)
            row.update({f"{name}_mean": cell.mean, f"{name}_std": cell.std, f"{name}_n": cell.n,
                        **_interval_columns(f"{name}_ci95", cell.interval), **_paired_columns(name, cell.versus_full_model)})
            if cell.n == 0:
                row[f"{name}_mean"] = cell.status
            notes += [f"{METRICS[name].label}: {reason}" for reason in cell.reasons]
        ok = rows[rows["status"] == "ok"]
        for key in COST_KEYS:
            values = pd.to_numeric(ok.get(key), errors="coerce").dropna() if key in ok else pd.Series(dtype=float)
            row[f"{key}_mean"] = float(values.mean()) if len(values) else math.nan
        row["backbone"] = _backbone(rows)
        row["notes"] = _dedupe(notes, (len(METRICS), "all metrics"))
        out.append((info, dataset, row))
    out.sort(key=lambda item: (sort_key(item[0]), str(item[1])))
    return pd.DataFrame([row for _, _, row in out])


def _interval_columns(prefix: str, interval: Interval | None) -> dict:
    return {f"{prefix}_low": interval.low if interval else math.nan, f"{prefix}_high": interval.high if interval else math.nan}


def _paired_columns(metric: str, comparison: PairedComparison | None) -> dict:
    """`<metric>_minus_dtp_lc1_5` (mean paired difference), its n, 95% interval and p-value."""
    prefix = f"{metric}_minus_{FULL_MODEL}"
    if comparison is None:
        return {prefix: math.nan, f"{prefix}_n": 0, **_interval_columns(f"{prefix}_ci95", None), f"{prefix}_p": math.nan}
    return {prefix: comparison.mean_difference, f"{prefix}_n": comparison.n,
            **_interval_columns(f"{prefix}_ci95", comparison.interval),
            f"{prefix}_p": comparison.p_value if comparison.p_value is not None else math.nan}


def _dedupe(notes: list[str], every: tuple[int, str] | None = None) -> str:
    """Notes that differ only by the cell named become one ('PE, LPIPS: unavailable: ...'); with
    `every` = (number of cells, word), one reason for every cell reads 'word: reason'."""
    by_reason: dict[str, list[str]] = {}
    for note in notes:
        where, reason = note.split(": ", 1)
        by_reason.setdefault(reason, []).append(where)
    if len(by_reason) == 1 and every is not None and len(notes) == every[0]:
        return f"{every[1]}: {next(iter(by_reason))}"
    return "; ".join(f"{', '.join(wheres)}: {reason}" for reason, wheres in by_reason.items())


# ----------------------------------------------------------------------------- the paper's cells
def table1_methods(df: pd.DataFrame) -> list[dict]:
    """Table 1's rows: the paper's rows in its order (matched by `MethodLabel.paper_row`), then our other
    methods and the reference rows present in the run (no ablations: they have their own table)."""
    by_paper_row = {row.paper_row: name for name, row in LABELS.items() if row.paper_row}
    rows = []
    for paper_row in paper.ROWS:
        name = by_paper_row.get(paper_row)
        rows.append(method_info(name) if name else
                    {"method": "", "label": paper_row, "kind": "baseline", "paper_row": paper_row, "description": ""})
    listed = {row["method"] for row in rows}
    present = df["method"].unique() if not df.empty else []
    extra = [method_info(m) for m in present if m not in listed]
    rows += sorted((info for info in extra if info["kind"] != "ablation"), key=sort_key)
    return rows


def cells(df: pd.DataFrame, datasets: dict[str, list[str]] | None = None, metrics=TABLE1_METRICS) -> list[dict]:
    """Long form of Table 1: one dict per (row, paper dataset, metric) with its Cell."""
    datasets = datasets or DEFAULT_TABLE1_DATASETS
    out = []
    for info in table1_methods(df):
        for table_dataset, ours in datasets.items():
            rows = df[(df["method"] == info["method"]) & df["dataset"].isin(ours)] if not df.empty else df
            for metric in metrics:
                cell = summarise(rows, metric, df)
                if not info["method"]:
                    cell.reasons = ["not implemented in this benchmark"]
                out.append({**info, "dataset": table_dataset, "metric": metric, "cell": cell,
                            "backbone": _backbone(rows)})
    return out


def table1(cell_list: list[dict]) -> pd.DataFrame:
    """The paper's layout: one row per method, PE and SSIM per paper dataset, pair counts, backbone, notes."""
    rows: dict[str, dict] = {}
    notes: dict[str, list[str]] = {}
    for item in cell_list:
        key = item["method"] or item["label"]
        row = rows.setdefault(key, {"method": item["method"], "label": item["label"], "kind": item["kind"]})
        label = f"{item['dataset']} {METRICS[item['metric']].label}"
        row[label] = item["cell"].text()
        row[f"{label} n"] = item["cell"].n
        backbones = set(filter(lambda b: b != "none", row.get("_backbones", set()) | set(item["backbone"].split(", "))))
        row["_backbones"] = backbones
        notes.setdefault(key, []).extend(f"{label}: {reason}" for reason in item["cell"].reasons)
    table = []
    for key, row in rows.items():
        backbones = row.pop("_backbones")
        every = (sum(1 for item in cell_list if (item["method"] or item["label"]) == key), "all cells")
        table.append({**row, "backbone": ", ".join(sorted(backbones)) or "none", "notes": _dedupe(notes[key], every)})
    frame = pd.DataFrame(table)
    counts = [c for c in frame.columns if c.endswith(" n")]
    values = [c for c in frame.columns if c not in counts and c not in ("method", "label", "kind", "backbone", "notes")]
    return frame[["method", "label", "kind", *values, *counts, "backbone", "notes"]]


def table1_vs_paper(cell_list: list[dict], digits: int = DIGITS) -> pd.DataFrame:
    """Ours beside the paper's, per (row, dataset, metric): difference = ours - paper."""
    out = []
    for item in cell_list:
        cell = item["cell"]
        reported = paper.value(item["paper_row"], item["dataset"], item["metric"]) if item["paper_row"] else None
        ours = round(cell.mean, digits) if cell.n else None
        out.append({"method": item["method"], "label": item["label"], "paper_row": item["paper_row"] or "",
                    "dataset": item["dataset"], "metric": METRICS[item["metric"]].label,
                    "better": METRICS[item["metric"]].direction, "ours": ours if cell.n else cell.status,
                    "n": cell.n, "ci95_low": cell.interval.low if cell.interval else "",
                    "ci95_high": cell.interval.high if cell.interval else "", "paper": reported if reported is not None else "not reported",
                    "difference": round(cell.mean - reported, digits) if cell.n and reported is not None else "",
                    "backbone": item["backbone"], "notes": "; ".join(cell.reasons)})
    return pd.DataFrame(out)


def ordering_against_paper(cell_list: list[dict]) -> list[dict]:
    """Per paper dataset and metric: do our means order the paper's rows as Table 1 does? Over the rows
    with a number on both sides: the rank agreement, and each pair of rows ordered oppositely."""
    out = []
    for (dataset, metric) in dict.fromkeys((item["dataset"], item["metric"]) for item in cell_list):
        rows = [(item["label"], item["cell"].mean, paper.value(item["paper_row"], dataset, metric))
                for item in cell_list if (item["dataset"], item["metric"]) == (dataset, metric)
                and item["paper_row"] and item["cell"].n and paper.value(item["paper_row"], dataset, metric) is not None]
        agreement = statistics.rank_agreement([r[1] for r in rows], [r[2] for r in rows])
        opposite = [(a, b) for i, a in enumerate(rows) for b in rows[i + 1:] if (a[1] - b[1]) * (a[2] - b[2]) < 0]
        out.append({"dataset": dataset, "metric": metric, "rows": [r[0] for r in rows], "agreement": agreement,
                    "opposite": opposite})
    return out


def _ordering_lines(cell_list: list[dict]) -> list[str]:
    lines = []
    for item in ordering_against_paper(cell_list):
        label, agreement = f"{item['dataset']} {METRICS[item['metric']].label}", item["agreement"]
        if len(item["rows"]) < 2:
            lines.append(f"- {label}: fewer than two of the paper's rows have a number here")
            continue
        pairs = agreement.concordant + agreement.discordant + agreement.tied
        tied = f", {agreement.tied} tied on one side" if agreement.tied else ""
        text = (f"- {label}: {len(item['rows'])} rows, Kendall's tau {agreement.tau:+.2f}; {agreement.concordant} of "
                f"{pairs} pairs of rows ordered as in the paper{tied}")
        if item["opposite"]:
            text += "; opposite: " + "; ".join(
                f"{a[0]} / {b[0]} (ours {a[1]:.3f} / {b[1]:.3f}, paper {a[2]} / {b[2]})" for a, b in item["opposite"])
        lines.append(text)
    return lines


def ablation(df: pd.DataFrame) -> pd.DataFrame:
    """The Fig. 5 ablations beside the full model, on every metric (rows of table_full)."""
    keep = [m for m in (df["method"].unique() if not df.empty else [])
            if m == FULL_MODEL or method_info(m)["kind"] == "ablation"]
    full = table_full(df[df["method"].isin(keep)]) if keep else pd.DataFrame()
    if full.empty:
        return pd.DataFrame(columns=["method", "description", "dataset", "pairs"])
    full.insert(2, "description", [method_info(m)["description"] for m in full["method"]])
    return full  # table_full's order: the full model (kind dtp) first, then the ablations as registered


# --------------------------------------------------------------------------------------- writing
def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def _by_row(cell_list: list[dict]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for item in cell_list:
        rows.setdefault(item["label"], []).append(item)
    return rows


def _difference_text(comparison: PairedComparison | None, digits: int = 3) -> str:
    """'+0.012 [-0.004, 0.030] p=0.25 n=3' (method minus FULL_MODEL), '' where there is no comparison."""
    if comparison is None or comparison.n == 0:
        return ""
    text = f"{comparison.mean_difference:+.{digits}f}"
    if comparison.interval:
        text += f" {comparison.interval.text(digits)} p={comparison.p_value:.2g}"
    return f"{text} n={comparison.n}"


def notes_markdown(df: pd.DataFrame, table: pd.DataFrame, cell_list: list[dict]) -> str:
    """Table 1 as Markdown: each cell's mean, 95% interval over pairs and n; each method's paired
    difference from DTP lambda_c = 1/5; how the numbers were made (SSIM convention, PieAPP's and the
    backbones' status) and why any cell is empty."""
    lines = ["# Table 1 (ours)", "",
             "Each cell: the mean over pairs, its 95% bootstrap interval over pairs, and n (pairs with a number).", ""]
    by_row = _by_row(cell_list)
    columns = [f"{item['dataset']} {METRICS[item['metric']].label}" for item in next(iter(by_row.values()), [])]
    backbone = dict(zip(table["label"], table["backbone"]))
    lines += _markdown_table(["method", *columns, "backbone"],
                             [[label, *(item["cell"].text_with_interval() for item in items), backbone.get(label, "")]
                              for label, items in by_row.items()])
    full_label = method_info(FULL_MODEL)["label"]
    lines += ["", f"## Paired with {full_label}", "",
              f"Each method minus {full_label} on the pairs both have a number for: the mean difference, its 95% "
              "bootstrap interval, the two-sided sign-flip permutation p-value (exact up to 13 pairs; with n "
              "pairs it cannot fall below 2/2^n, 0.25 for 3) and n. An interval that holds 0 is no evidence of a "
              f"difference. ({METRICS['ssim'].label}: {METRICS['ssim'].direction} is better; see below for each metric.)", ""]
    compared = [(label, items) for label, items in by_row.items()
                if any(item["cell"].versus_full_model and item["cell"].versus_full_model.n for item in items)]
    lines += _markdown_table(["method", *columns],
                             [[label, *(_difference_text(item["cell"].versus_full_model) for item in items)]
                              for label, items in compared])
    lines += ["", "## Ordering against the paper's Table 1", "",
              "Over the paper's rows that have a number both here and in the paper: how many pairs of rows the "
              "two order alike (Kendall's tau-b: +1 the same order, -1 reversed). Only the order compares: "
              "sizes, iterations and the backbone differ (see below).", ""]
    lines += _ordering_lines(cell_list)
    lines += ["", "## How these numbers were made", ""]
    conventions = sorted(set(df["ssim_convention"].dropna())) if "ssim_convention" in df else []
    lines.append("- " + ("SSIM convention: " + " | ".join(conventions) if conventions else "SSIM: no output scored"))
    if len(conventions) > 1:
        lines.append("- WARNING: the metrics files were made with different SSIM conventions; rerun evaluate")
    for name, spec in METRICS.items():
        lines.append(f"- {spec.label} ({name}): {spec.description}; compares the output with the "
                     f"{spec.reference}; {spec.direction} is better")
    pieapp = df.get("pieapp_status")
    pieapp_reason = None
    if pieapp is not None and (pieapp == "unavailable").any():
        pieapp_reason = df.loc[pieapp == "unavailable", "pieapp_reason"].iloc[0]
        lines.append(f"- PE: {pieapp_reason}")
    lines.append("- a cell without a number says why (unavailable / failed / not run); the notes column gives the reason")
    for _, row in table.iterrows():
        note = row["notes"]
        if note and pieapp_reason:  # said once above; the CSV's notes keep it in full
            note = note.replace(pieapp_reason, "unavailable (PieAPP weights, above)")
        if note:
            lines.append(f"- {row['label']}: {note}")
    return "\n".join(lines) + "\n"


def write_tables(metric_files, out: dict[str, str | Path],
                 datasets: dict[str, list[str]] | None = None) -> dict[str, pd.DataFrame]:
    """Write every table. `out` maps table1, table1_md, table_full, table1_vs_paper, ablation to paths."""
    from dtp_core.atomic import write_text

    df = load_metrics(metric_files)
    cell_list = cells(df, datasets)
    tables = {"table1": table1(cell_list), "table_full": table_full(df),
              "table1_vs_paper": table1_vs_paper(cell_list), "ablation": ablation(df)}
    for name, frame in tables.items():
        if name in out:
            write_text(out[name], frame.to_csv(index=False))
    if "table1_md" in out:
        write_text(out["table1_md"], notes_markdown(df, tables["table1"], cell_list))
    return tables
