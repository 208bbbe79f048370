"""Figures: each one is written as a readable PNG from a small run, and handles what is missing."""

import numpy as np
import pytest
from PIL import Image

from dtp_core.images import save_png
from dtp_core.outputs import loss_csv_path, snapshot_path
from dtp_bench import figures
from dtp_bench.figures import FIGURES, figure_settings, make_figures, pick_pairs, qualitative_grid
from dtp_bench.tables import load_metrics
from fake_run import make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("figrun")
    df = load_metrics(make_run(root))
    # a loss curve and two snapshots for DTP on one pair, as DTP's writer names them
    output = root / "results" / "outputs" / "dpst" / "dtp_lc1_5" / "1.png"
    rows = ["iteration,total,content,style,cycle"] + [f"{i},{3 / (i + 1)},{2 / (i + 1)},{1 / (i + 1)},{0.5 / (i + 1)}"
                                                       for i in range(20)]
    loss_csv_path(output).write_text("\n".join(rows) + "\n")
    for i in (0, 19):
        save_png(snapshot_path(output, i), np.full((48, 48, 3), 40 * (i % 5), dtype=np.uint8))
    return root, df


def _is_png(path, min_side=150):
    with Image.open(path) as img:
        assert img.format == "PNG" and min(img.size) >= min_side
        return img.size


def test_every_figure_is_written(run, tmp_path):
    root, df = run
    out = {name: tmp_path / f"{name}.png" for name in FIGURES}
    make_figures(df, out, {"photo_datasets": ["dpst", "photonas"], "tradeoff": {"x": "histogram"}})
    for name in FIGURES:
        _is_png(out[name])


def test_grid_leaves_out_methods_without_images_and_shows_missing_tiles(run, tmp_path):
    _, df = run
    shown = qualitative_grid(df, [("celeba-hq", "c"), ("celeba-hq", "a")], ["dtp_lc1_5", "wct", "identity"],
                             tmp_path / "g.png", title="t")
    assert shown == ["dtp_lc1_5", "identity"]  # WCT is unavailable everywhere; DTP failed on c only
    width, height = _is_png(tmp_path / "g.png")
    assert width > height  # 2 rows, 4 columns


def test_pairs_are_configured_or_the_best_covered(run):
    _, df = run
    assert pick_pairs(df, ["ffhq/x"], [], 3) == [("ffhq", "x")]
    # celeba-hq c has one method fewer (DTP failed there), so a and b come first
    assert pick_pairs(df, [], ["celeba-hq"], 2) == [("celeba-hq", "a"), ("celeba-hq", "b")]
    assert pick_pairs(df, [], ["dpst", "ffhq"], 3) == [("dpst", "1"), ("ffhq", "x"), ("dpst", "2")]
    with pytest.raises(ValueError, match="dataset/pair_id"):
        pick_pairs(df, ["x"], [], 1)


def test_settings_are_validated():
    assert figure_settings({"tradeoff": {"x": "histogram"}})["tradeoff"] == {"x": "histogram", "y": "ssim"}
    with pytest.raises(ValueError, match="report.figures.colours"):
        figure_settings({"colours": 1})
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        figure_settings({"caption_metrics": ["fid"]})
    with pytest.raises(ValueError, match="unknown figure"):
        make_figures(load_metrics([]), {"fig9": "x.png"})


def test_an_empty_run_still_gives_every_figure(tmp_path):
    out = {name: tmp_path / f"{name}.png" for name in FIGURES}
    make_figures(load_metrics([]), out)
    for name in FIGURES:
        _is_png(out[name], min_side=50)


def test_loss_csv_reader(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("iteration,total\n0,1.5\n1,1.0\n")
    assert figures.read_loss_csv(path)["total"].tolist() == [1.5, 1.0]
    path.write_text("iteration,total\n")
    with pytest.raises(ValueError, match="no loss rows"):
        figures.read_loss_csv(path)
