"""Figures (matplotlib, PNG) from the metrics files and the outputs they point to.

- `qualitative_grid`: content, style, then one column per method, one row per pair (the paper's
  Fig. 3 for photos, Fig. 4 for faces, Fig. 5 for the ablations), each output captioned with its scores;
- `score_distributions`: every metric, one box (and its points) per method, per dataset;
- `tradeoff`: one point per method, content-side score against style-side score;
- `loss_curves`: DTP's loss terms by iteration and its output at the snapshot iterations, one pair;
- `cost`: seconds and peak memory per method.
Each takes the frame of `tables.load_metrics` (one row per metrics file) and writes one PNG.
"""

from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on the build machines or cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dtp_core.atomic import atomic_path  # noqa: E402
from dtp_core.images import load_image  # noqa: E402
from dtp_core.outputs import loss_csv_path, snapshot_path  # noqa: E402

from .method_labels import method_info, sort_key  # noqa: E402
from .metrics import METRICS  # noqa: E402

TILE = 1.55  # inches per image tile
LOSS_TERMS = ("total", "content", "style", "cycle")


def save(fig, path: str | Path, dpi: int = 110) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _wrap(text: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def column_label(method: str) -> str:
    """The table label; an ablation without one reads 'no warped feature' (from dtp_no_warped_feature)."""
    info = method_info(method)
    if info["kind"] == "ablation" and info["label"] == method:
        return method.removeprefix("dtp_").replace("_", " ").replace("fma", "FMA")
    return info["label"]


def ordered_methods(methods) -> list[str]:
    """Table 1's order: DTP, baselines, precomputed, ablations, references; by name within a kind."""
    return sorted(set(methods), key=lambda m: sort_key(method_info(m)))


def _score_caption(row, metrics=("ssim", "gram")) -> str:
    parts = [f"{METRICS[m].label} {row[m]:.2f}" for m in metrics if m in row and row.get(f"{m}_status") == "ok"]
    return "  ".join(parts)


# ------------------------------------------------------------------------------ qualitative grid
def qualitative_grid(df: pd.DataFrame, pairs: list[tuple[str, str]], methods: list[str], path, *, title: str,
                     caption_metrics=("ssim", "gram")) -> list[str]:
    """Rows = (dataset, pair_id); columns = content, style, each method. A missing output is a grey
    tile saying why. Methods with no image in any row are left out and named below the grid.
    Returns the methods shown."""
    rows = df.set_index(["dataset", "pair_id", "method"]).sort_index() if not df.empty else df
    shown, left_out = [], []
    for method in methods:
        statuses = [rows.loc[(d, p, method), "status"] if (d, p, method) in rows.index else "not run" for d, p in pairs]
        if "ok" in statuses:
            shown.append(method)
        else:
            reasons = [rows.loc[(d, p, method), "reason"] for d, p in pairs if (d, p, method) in rows.index]
            left_out.append(f"{column_label(method)}: {reasons[0] if reasons else 'not run'}")
    ncols = 2 + len(shown)
    fig, axes = plt.subplots(len(pairs), ncols, figsize=(TILE * ncols, (TILE + 0.25) * len(pairs) + 0.65),
                             squeeze=False)
    for r, (dataset, pair_id) in enumerate(pairs):
        pair_rows = df[(df["dataset"] == dataset) & (df["pair_id"] == pair_id)]
        sources = pair_rows.dropna(subset=["content"]).head(1)
        content = sources["content"].iloc[0] if len(sources) else None
        style = sources["style"].iloc[0] if len(sources) else None
        _tile(axes[r, 0], content, "content" if r == 0 else None, "missing")
        _tile(axes[r, 1], style, "style" if r == 0 else None, "missing")
        axes[r, 0].set_ylabel(f"{dataset}\n{pair_id}", fontsize=8, rotation=0, ha="right", va="center")
        for c, method in enumerate(shown, start=2):
            key = (dataset, pair_id, method)
            header = _wrap(column_label(method)) if r == 0 else None
            if key in rows.index and rows.loc[key, "status"] == "ok":
                row = rows.loc[key]
                _tile(axes[r, c], row["output"], header, None, _score_caption(row, caption_metrics))
            else:
                status = rows.loc[key, "status"] if key in rows.index else "not run"
                _tile(axes[r, c], None, header, status)
    height = fig.get_size_inches()[1]
    # a fixed 0.65 in band at the top holds the title and two-line column headers, whatever the row count
    fig.suptitle(title, fontsize=10, y=1 - 0.02 / height, va="top")
    note = ("Under each output: " + ", ".join(f"{METRICS[m].label} ({'higher' if METRICS[m].direction == 'higher' else 'lower'}"
                                             f" is better, vs {METRICS[m].reference})" for m in caption_metrics))
    if left_out:
        note += "\nNot shown (no image for these pairs): " + "; ".join(textwrap.shorten(t, 110) for t in left_out)
    fig.text(0.01, -0.01, note, fontsize=7, va="top", wrap=True)
    fig.subplots_adjust(wspace=0.04, hspace=0.28, top=1 - 0.65 / height)
    save(fig, path)
    return shown


def _tile(ax, image_path, header, missing, caption=None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if image_path and Path(image_path).is_file():
        ax.imshow(load_image(image_path, min_side=1))
    else:
        ax.imshow(np.full((8, 8, 3), 230, dtype=np.uint8))  # a square grey tile, the size of an image tile
        ax.text(0.5, 0.5, missing or "missing", ha="center", va="center", fontsize=8, color="#555555",
                transform=ax.transAxes)
    if header:
        ax.set_title(header, fontsize=8)
    if caption:
        ax.set_xlabel(caption, fontsize=7, labelpad=2)


# ---------------------------------------------------------------------------- score distributions
def score_distributions(df: pd.DataFrame, path, *, metrics=None, methods=None, datasets=None) -> None:
    """One panel per (metric, dataset): a horizontal box per method with its per-pair points.
    A metric with no value anywhere is named, with its reason, below the panels."""
    ok = df[(df["status"] == "ok") & (df["method"].isin(methods) if methods else True)]
    wanted = list(metrics or METRICS)
    metrics = [m for m in wanted if m in ok and ok[m].notna().any()]
    missing = [f"{METRICS[m].label}: {_first_reason(ok, m)}" for m in wanted if m not in metrics]
    datasets = _dataset_order(ok["dataset"].unique(), datasets)
    methods = ordered_methods(ok["method"].unique())
    if not metrics or not datasets:
        return _empty(path, "No scored outputs yet")
    height = max(2.2, 0.28 * len(methods) + 0.9)
    fig, axes = plt.subplots(len(metrics), len(datasets), figsize=(3.6 * len(datasets) + 1.6, height * len(metrics)),
                             squeeze=False)
    labels = [column_label(m) for m in methods]
    rng = np.random.default_rng(0)  # jitter only
    for i, metric in enumerate(metrics):
        spec = METRICS[metric]
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = ok[(ok["dataset"] == dataset) & ok[metric].notna()]
            values = [sub.loc[sub["method"] == m, metric].to_numpy() for m in methods]
            positions = np.arange(len(methods))
            present = [k for k, v in enumerate(values) if len(v)]
            if present:
                ax.boxplot([values[k] for k in present], positions=positions[present], orientation="horizontal", widths=0.6,
                           showfliers=False, medianprops={"color": "black"})
            for k in present:
                ax.scatter(values[k], k + rng.uniform(-0.15, 0.15, len(values[k])), s=9, alpha=0.6, color="C0", zorder=3)
            for k, v in enumerate(values):
                if not len(v):
                    ax.text(0.02, k, "no score", fontsize=7, va="center", color="#888888",
                            transform=ax.get_yaxis_transform())
            ax.set_yticks(positions)
            ax.set_yticklabels(labels if j == 0 else [], fontsize=8)
            ax.set_ylim(len(methods) - 0.5, -0.5)
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{dataset}: {spec.label} {spec.arrow} (vs {spec.reference})", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"Per-pair scores ({'; '.join(f'{METRICS[m].label}: {METRICS[m].direction} is better' for m in metrics)})",
                 fontsize=9)
    fig.tight_layout()
    if missing:
        fig.text(0.01, 0, "Not shown: " + "; ".join(textwrap.shorten(t, 160) for t in missing), fontsize=7, va="top")
    save(fig, path)


def _first_reason(ok: pd.DataFrame, metric: str) -> str:
    column = f"{metric}_reason"
    reasons = ok[column].dropna() if column in ok else []
    reasons = [r for r in reasons if r]
    return reasons[0] if reasons else "no value in this run"


def _dataset_order(present, preferred=None) -> list[str]:
    preferred = [d for d in (preferred or []) if d in set(present)]
    return preferred + sorted(set(present) - set(preferred))


def _empty(path, message: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    save(fig, path)


# -------------------------------------------------------------------------------------- trade-off
def tradeoff(df: pd.DataFrame, path, *, x: str = "gram", y: str = "ssim", methods=None,
             datasets=None) -> None:
    """One point per method (mean, with the standard deviation as error bars), one panel per dataset."""
    ok = df[(df["status"] == "ok") & (df["method"].isin(methods) if methods else True)]
    if x not in ok or y not in ok:
        return _empty(path, f"No {x} / {y} scores yet")
    ok = ok[ok[x].notna() & ok[y].notna()]
    datasets = _dataset_order(ok["dataset"].unique(), datasets)
    if not datasets:
        return _empty(path, f"No outputs scored on both {METRICS[x].label} and {METRICS[y].label}")
    methods = ordered_methods(ok["method"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 4.2), squeeze=False)
    markers = {"dtp": "*", "baseline": "o", "precomputed": "D", "ablation": "^", "reference": "s"}
    for ax, dataset in zip(axes[0], datasets):
        sub = ok[ok["dataset"] == dataset]
        for k, method in enumerate(methods):
            points = sub[sub["method"] == method]
            if points.empty:
                continue
            info = method_info(method)
            mx, my = points[x].mean(), points[y].mean()
            sx, sy = (points[x].std(ddof=1), points[y].std(ddof=1)) if len(points) > 1 else (0, 0)
            ax.errorbar(mx, my, xerr=sx, yerr=sy, fmt=markers.get(info["kind"], "o"), ms=9 if info["kind"] == "dtp" else 6,
                        color=f"C{k % 10}", capsize=2, alpha=0.85, label=info["label"])
            ax.annotate(f"{textwrap.shorten(info['label'], 22)} (n={len(points)})", (mx, my), xytext=(4, 4),
                        textcoords="offset points", fontsize=7)
        ax.set_xlabel(f"{METRICS[x].label} to style ({METRICS[x].direction} is better)", fontsize=8)
        ax.set_ylabel(f"{METRICS[y].label} to content ({METRICS[y].direction} is better)", fontsize=8)
        ax.set_title(dataset, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.margins(0.12)
    legend = {}  # every method once, whichever panel it appears in
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize=7, frameon=False)
    corner = ("top" if METRICS[y].direction == "higher" else "bottom") + "-" + \
             ("left" if METRICS[x].direction == "lower" else "right")
    fig.suptitle("Content kept vs style taken: one point per method (mean ± std over pairs); "
                 f"better is {corner}", fontsize=9)
    fig.tight_layout()
    save(fig, path)


# ------------------------------------------------------------------------------------ loss curves
def read_loss_csv(path) -> dict[str, np.ndarray]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no loss rows")
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}


def loss_curves(output_png, path, *, content=None, style=None, title: str = "") -> None:
    """DTP's loss terms by iteration (top) and its output at each snapshot iteration (bottom), for
    the output `output_png` (reads OUT.loss.csv and OUT.iterNNNN.png beside it)."""
    output_png = Path(output_png)
    losses = read_loss_csv(loss_csv_path(output_png))
    snaps = sorted(output_png.parent.glob(output_png.stem + ".iter*.png"))
    iterations = [int(p.name.split(".iter")[1].split(".")[0]) for p in snaps]
    images = ([("content", content)] if content else []) + ([("style", style)] if style else []) + \
             [(f"iteration {i}", snapshot_path(output_png, i)) for i in iterations] + [("final output", output_png)]
    terms = [t for t in LOSS_TERMS if t in losses]
    fig = plt.figure(figsize=(max(2.6 * len(terms), TILE * 1.2 * len(images)), 5.2))
    grid = fig.add_gridspec(2, 1, height_ratios=[1.1, 1.0], hspace=0.35)
    top = grid[0].subgridspec(1, len(terms), wspace=0.35)
    bottom = grid[1].subgridspec(1, len(images), wspace=0.05)
    x = losses.get("iteration", np.arange(len(losses[terms[0]])))
    for k, term in enumerate(terms):
        ax = fig.add_subplot(top[k])
        ax.plot(x, losses[term], lw=1.2, color=f"C{k}")
        for i in iterations:
            ax.axvline(i, color="#999999", lw=0.6, ls=":")
        ax.set_title(f"{term} loss", fontsize=9)
        ax.set_xlabel("iteration", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for k, (label, image) in enumerate(images):
        _tile(fig.add_subplot(bottom[k]), image, label, "missing")
    fig.suptitle(title or f"DTP loss curves and snapshots: {output_png}", fontsize=9)
    save(fig, path)


# ------------------------------------------------------------------------------------------- cost
def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def cost(df: pd.DataFrame, path) -> None:
    """Mean seconds and peak memory per stylisation job, per method (all datasets), with std bars.
    Memory is the GPU peak where the job ran on a GPU, else the process's peak RSS."""
    ok = df[df["status"] == "ok"].copy()
    if ok.empty:
        return _empty(path, "No finished outputs yet")
    ok["time_s"] = pd.to_numeric(ok.get("seconds"), errors="coerce")
    if "benchmark_s" in ok:
        ok["time_s"] = ok["time_s"].fillna(pd.to_numeric(ok["benchmark_s"], errors="coerce"))
    gpu = pd.to_numeric(ok.get("peak_gpu_mib"), errors="coerce") if "peak_gpu_mib" in ok else pd.Series(np.nan, ok.index)
    ok["memory_mib"] = gpu.fillna(pd.to_numeric(ok.get("peak_rss_mib"), errors="coerce"))
    ok["memory_kind"] = np.where(gpu.notna(), "GPU", "RSS")
    methods = ordered_methods(ok["method"].unique())
    labels = [column_label(m) for m in methods]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.32 * len(methods) + 1.4), sharey=True)
    for ax, column, xlabel in ((axes[0], "time_s", "seconds per pair (log scale)"),
                               (axes[1], "memory_mib", "peak memory per job, MiB")):
        stats = [ok.loc[ok["method"] == m, column].dropna() for m in methods]
        means = [s.mean() if len(s) else np.nan for s in stats]
        stds = [s.std(ddof=1) if len(s) > 1 else 0 for s in stats]
        ax.barh(np.arange(len(methods)), means, xerr=stds, color="C0", alpha=0.8, capsize=2)
        for k, (mean, std, s) in enumerate(zip(means, stds, stats)):
            if not math.isnan(mean):  # the label sits past the error bar
                ax.text(mean + (std if std == std else 0), k, f"  {_short(mean)} (n={len(s)})", va="center", fontsize=7)
        if column == "time_s" and np.nanmin(np.array(means, dtype=float)) > 0:
            ax.set_xscale("log")
        elif column == "time_s":
            ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.set_xlim(right=ax.get_xlim()[1] * (30 if ax.get_xscale() == "log" else 1.3))  # room for the labels
    axes[0].set_yticks(np.arange(len(methods)))
    axes[0].set_yticklabels(labels, fontsize=8)
    axes[0].invert_yaxis()
    kinds = sorted(set(ok["memory_kind"]))
    axes[1].set_title(f"memory: {' / '.join(kinds)} peak", fontsize=9)
    axes[0].set_title("time", fontsize=9)
    fig.tight_layout()
    save(fig, path)


# ----------------------------------------------------------------------------------- all figures
FIGURES = ("fig3_photo", "fig4_faces", "fig5_ablation", "scores", "tradeoff", "loss_curves", "cost")
DEFAULTS = {
    "pairs_per_figure": 3,
    "photo_datasets": ["photo-r"], "photo_pairs": [],      # pairs as "dataset/pair_id"; [] = the first few
    "face_datasets": ["celeba-hq", "ffhq"], "face_pairs": [],
    "ablation_pairs": [],
    "methods": [],                                          # [] = every non-ablation method in the run
    "caption_metrics": ["ssim", "gram"],
    "tradeoff": {"x": "gram", "y": "ssim"},
    "loss_curve": {"method": "dtp_lc1_5", "pair": ""},      # pair "" = the first with a loss curve
}


def figure_settings(settings: dict | None) -> dict:
    merged = {**DEFAULTS, **{k: v for k, v in (settings or {}).items()}}
    unknown = sorted(set(settings or {}) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"report.figures.{unknown[0]} is not a figure setting; use one of {sorted(DEFAULTS)}")
    for key in ("tradeoff", "loss_curve"):
        merged[key] = {**DEFAULTS[key], **(settings or {}).get(key, {})}
    for name in (*merged["caption_metrics"], *merged["tradeoff"].values()):
        if name not in METRICS:
            raise ValueError(f"report.figures: unknown metric {name!r}; use one of {sorted(METRICS)}")
    return merged


def pick_pairs(df: pd.DataFrame, configured: list[str], datasets: list[str], count: int) -> list[tuple[str, str]]:
    """The configured "dataset/pair_id" entries, else `count` pairs of `datasets` (taking each dataset
    in turn), those with the most finished outputs first."""
    if configured:
        pairs = []
        for entry in configured:
            if "/" not in entry:
                raise ValueError(f"report.figures pair {entry!r} must read 'dataset/pair_id'")
            pairs.append(tuple(entry.split("/", 1)))
        return pairs
    ok = df[df["status"] == "ok"] if not df.empty else df
    # the pairs with the most methods' outputs first, so the grid shows as much as the run has
    coverage = ok.groupby(["dataset", "pair_id"])["method"].nunique() if len(ok) else pd.Series(dtype=int)
    per_dataset = [sorted(ok.loc[ok["dataset"] == d, "pair_id"].unique(),
                          key=lambda p, d=d: (-coverage.get((d, p), 0), _natural(p))) for d in datasets]
    pairs = []
    for k in range(count):
        for dataset, ids in zip(datasets, per_dataset):
            if k < len(ids) and len(pairs) < count:
                pairs.append((dataset, ids[k]))
    return pairs


def _natural(pair_id: str):
    return (0, int(pair_id), "") if str(pair_id).isdigit() else (1, 0, str(pair_id))


def make_figures(df: pd.DataFrame, out: dict[str, str | Path], settings: dict | None = None) -> None:
    """Write every figure named in `out` (keys: FIGURES) from the metrics frame."""
    cfg = figure_settings(settings)
    unknown = sorted(set(out) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; use some of {FIGURES}")
    present = list(df["method"].unique()) if not df.empty else []
    main = cfg["methods"] or [m for m in ordered_methods(present)
                              if method_info(m)["kind"] != "ablation"]
    ablations = ordered_methods([m for m in present if method_info(m)["kind"] == "ablation"])
    n, caption = cfg["pairs_per_figure"], tuple(cfg["caption_metrics"])
    grids = {
        "fig3_photo": (pick_pairs(df, cfg["photo_pairs"], cfg["photo_datasets"], n), main,
                       "Photorealistic pairs (cf. the paper's Fig. 3)"),
        "fig4_faces": (pick_pairs(df, cfg["face_pairs"], cfg["face_datasets"], n), main,
                       "Face pairs (cf. the paper's Fig. 4)"),
        "fig5_ablation": (pick_pairs(df[df["method"].isin(ablations)] if ablations else df, cfg["ablation_pairs"],
                                     [*cfg["photo_datasets"], *cfg["face_datasets"]], n),
                          ["dtp_lc1_5", *ablations], "Ablations on the full model, lambda_c = 1/5 (cf. the paper's Fig. 5)"),
    }
    for name, (pairs, methods, title) in grids.items():
        if name in out:
            if pairs:
                qualitative_grid(df, pairs, methods, out[name], title=title, caption_metrics=caption)
            else:
                _empty(out[name], f"{title}: no pairs with outputs in this run")
    order = [*cfg["photo_datasets"], *cfg["face_datasets"]]
    if "scores" in out:  # the ablations have their own grid and table
        score_distributions(df, out["scores"], methods=main, datasets=order)
    if "tradeoff" in out:
        tradeoff(df, out["tradeoff"], x=cfg["tradeoff"]["x"], y=cfg["tradeoff"]["y"], methods=main, datasets=order)
    if "cost" in out:
        cost(df, out["cost"])
    if "loss_curves" in out:
        _loss_figure(df, out["loss_curves"], cfg["loss_curve"])


def _loss_figure(df: pd.DataFrame, path, cfg: dict) -> None:
    rows = df[(df["method"] == cfg["method"]) & (df["status"] == "ok")] if not df.empty else df
    if cfg["pair"]:
        dataset, pair_id = pick_pairs(df, [cfg["pair"]], [], 1)[0]
        rows = rows[(rows["dataset"] == dataset) & (rows["pair_id"] == pair_id)]
    rows = rows[[loss_csv_path(o).is_file() for o in rows["output"]]] if len(rows) else rows
    if rows.empty:
        return _empty(path, f"No loss curve of {cfg['method']} in this run")
    row = rows.sort_values(["dataset", "pair_id"]).iloc[0]
    loss_curves(row["output"], path, content=row["content"], style=row["style"],
                title=f"{method_info(row['method'])['label']}: losses and outputs by iteration, "
                      f"{row['dataset']}/{row['pair_id']}")
