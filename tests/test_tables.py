"""Tables: the paper's layout, every cell the mean of the metrics files behind it, honest empty cells."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dtp_bench import paper
from dtp_bench.tables import FULL_MODEL, load_metrics, write_tables
from fake_run import DATASETS, make_run

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    files = make_run(root)
    out = {name: root / "results" / f"{name}.csv" for name in ("table1", "table_full", "table1_vs_paper", "ablation")}
    out["table1_md"] = root / "results" / "table1.md"
    write_tables(files, out, DATASETS)
    tables = {name: pd.read_csv(path) for name, path in out.items() if name != "table1_md"}
    return {"root": root, "files": files, "tables": tables, "md": out["table1_md"].read_text()}


def _json_values(files, method, datasets, metric):
    values = []
    for path in files:
        record = json.loads(Path(path).read_text())
        if record["method"] == method and record["dataset"] in datasets and record["status"] == "ok":
            values.append(record["metrics"][metric]["value"])
    return values


def test_table1_layout(run):
    t1 = run["tables"]["table1"]
    cells = [f"{d} {m}" for d in paper.DATASETS for m in ("PE", "SSIM")]
    assert list(t1.columns) == ["method", "label", "kind", *cells, *(f"{c} n" for c in cells), "backbone", "notes"]
    # the paper's rows first, in its order, then ours (references last; ablations have their own table)
    assert list(t1["label"][: len(paper.ROWS)]) == list(paper.ROWS)
    assert list(t1["method"][len(paper.ROWS):]) == ["identity"]
    assert FULL_MODEL in set(t1["method"]) and "dtp_no_cycle" not in set(t1["method"])


def test_identity_row_ssim_is_one(run):
    row = run["tables"]["table1"].set_index("method").loc["identity"]
    for dataset in paper.DATASETS:
        assert float(row[f"{dataset} SSIM"]) == pytest.approx(1.0, abs=1e-9)
    full = run["tables"]["table_full"]
    assert (full.loc[full["method"] == "identity", "ssim_mean"].astype(float) == 1.0).all()


def test_cells_are_the_mean_of_the_json_files_behind_them(run):
    files, full, t1 = run["files"], run["tables"]["table_full"], run["tables"]["table1"].set_index("method")
    for _, row in full[full["n_ok"] > 0].iterrows():
        for metric in ("ssim", "histogram"):
            values = _json_values(files, row["method"], [row["dataset"]], metric)
            assert float(row[f"{metric}_mean"]) == pytest.approx(np.mean(values), abs=1e-12)
            assert int(row[f"{metric}_n"]) == len(values)
            if len(values) > 1:
                assert float(row[f"{metric}_std"]) == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    # Photo-R pools two of our datasets (3 pairs); table1 keeps 4 decimals
    values = _json_values(files, FULL_MODEL, DATASETS["Photo-R"], "ssim")
    assert len(values) == 3 == t1.loc[FULL_MODEL, "Photo-R SSIM n"]
    assert float(t1.loc[FULL_MODEL, "Photo-R SSIM"]) == pytest.approx(np.mean(values), abs=5e-5)


def test_unavailable_pieapp_is_written_as_such_with_the_reason(run):
    t1 = run["tables"]["table1"].set_index("method")
    assert t1.loc["identity", "Photo-R PE"] == "unavailable"
    assert t1.loc["identity", "Photo-R PE n"] == 0
    assert "needs PieAPPv0.1.pth" in t1.loc["identity", "notes"]
    assert "- PE: unavailable: needs PieAPPv0.1.pth" in run["md"]
    assert run["md"].count("needs PieAPPv0.1.pth") == 1  # said once, not once per method
    assert "Identity (content): Photo-R PE" in run["md"] and "(PieAPP weights, above)" in run["md"]
    assert "SSIM convention: SSIM (piq" in run["md"]
    vs = run["tables"]["table1_vs_paper"]
    row = vs[(vs["method"] == FULL_MODEL) & (vs["dataset"] == "Photo-R") & (vs["metric"] == "PE")].iloc[0]
    assert row["ours"] == "unavailable" and float(row["paper"]) == 1.09 and pd.isna(row["difference"])


def test_unavailable_failed_and_not_run_cells(run):
    t1 = run["tables"]["table1"].set_index("label")
    assert t1.loc["WCT", "Photo-R SSIM"] == "unavailable"
    assert "all cells: unavailable: needs WCT.t7" in t1.loc["WCT", "notes"]
    assert t1.loc["Gatys et al.", "FFHQ SSIM"] == "not run"
    # one of three CelebA-HQ jobs failed: the mean of the other two, and a note saying so
    dtp = t1.loc["DTP, lambda_c = 1/5"]
    assert dtp["CelebA-HQ SSIM n"] == 2
    assert "1 of 3 pairs failed: RuntimeError: CUDA out of memory" in dtp["notes"]
    assert "vgg16 (stand-in for vgg19)" == dtp["backbone"]
    # PE: two outputs scored without weights, one job failed: the cell is unavailable, both reasons noted
    assert dtp["CelebA-HQ PE"] == "unavailable"
    assert "2 of 3 pairs unavailable: needs PieAPPv0.1.pth" in dtp["notes"]


def test_table1_vs_paper_difference(run):
    vs = run["tables"]["table1_vs_paper"]
    row = vs[(vs["method"] == FULL_MODEL) & (vs["dataset"] == "FFHQ") & (vs["metric"] == "SSIM")].iloc[0]
    assert float(row["difference"]) == pytest.approx(float(row["ours"]) - 0.98, abs=1e-4)
    assert row["better"] == "higher" and row["n"] == 1
    wct = vs[(vs["label"] == "WCT") & (vs["dataset"] == "FFHQ")].iloc[0]
    assert wct["paper"] == "not reported"


def test_ablation_table(run):
    ab = run["tables"]["ablation"]
    assert list(ab["method"].unique()) == [FULL_MODEL, "dtp_no_cycle"]
    assert "cycle" in ab.loc[ab["method"] == "dtp_no_cycle", "description"].iloc[0]
    assert {"ssim_mean", "ssim_std", "ssim_n", "histogram_mean", "pieapp_mean"} <= set(ab.columns)


def test_full_table_counts_and_reference_rows(run):
    full = run["tables"]["table_full"].set_index(["method", "dataset"])
    assert full.loc[(FULL_MODEL, "celeba-hq"), ["pairs", "n_ok", "n_failed"]].tolist() == [3, 2, 1]
    assert full.loc[("wct", "ffhq"), "ssim_mean"] == "unavailable"
    assert full.loc[("identity", "dpst"), "kind"] == "reference"
    assert float(full.loc[(FULL_MODEL, "dpst"), "seconds_mean"]) == 1.5


def test_load_metrics_of_nothing_is_empty():
    assert load_metrics([]).empty


def test_every_cell_carries_an_interval_and_a_paired_difference_on_the_same_pairs(run):
    """identity minus the full model on CelebA-HQ uses pairs a and b only: the full model failed on c."""
    files, full = run["files"], run["tables"]["table_full"].set_index(["method", "dataset"])
    row = full.loc[("identity", "celeba-hq")]
    records = {p: json.loads(Path(p).read_text()) for p in files if "/celeba-hq/" in str(p)}
    values = lambda method: {Path(p).stem: r["metrics"]["ssim"]["value"] for p, r in records.items()
                             if r["method"] == method and r["status"] == "ok"}
    identity, full_model = values("identity"), values(FULL_MODEL)
    assert sorted(full_model) == ["a", "b"] and sorted(identity) == ["a", "b", "c"]
    differences = [identity[p] - full_model[p] for p in ("a", "b")]
    assert row[f"ssim_minus_{FULL_MODEL}"] == pytest.approx(np.mean(differences), abs=1e-12)
    assert row[f"ssim_minus_{FULL_MODEL}_n"] == 2
    assert row[f"ssim_minus_{FULL_MODEL}_p"] == pytest.approx(0.5)  # one sign on 2 pairs: 2 / 2^2
    assert row["ssim_ci95_low"] <= float(row["ssim_mean"]) <= row["ssim_ci95_high"]
    # the full model is not compared with itself; a one-pair cell has no interval
    assert np.isnan(full.loc[(FULL_MODEL, "celeba-hq"), f"ssim_minus_{FULL_MODEL}"])
    assert np.isnan(full.loc[("identity", "ffhq"), "ssim_ci95_low"])
    md = run["md"]
    assert "## Paired with" in md and " n=2" in md and "p=0.5" in md


def test_ordering_against_the_paper_names_the_pairs_ordered_oppositely():
    from dtp_bench.tables import Cell, method_info, ordering_against_paper
    ours = {"gatys": 0.50, "strotss": 0.40, "sinir": 0.90, "dtp_lc1_5": 0.80}
    cell_list = [{**method_info(m), "dataset": "Photo-R", "metric": "ssim", "backbone": "",
                  "cell": Cell(value, 0.0, 3, 3, "ok")} for m, value in ours.items()]
    [item] = ordering_against_paper(cell_list)
    # paper Photo-R SSIM: Gatys 0.44, STROTSS 0.37, SinIR 0.84, DTP 1/5 0.82 -> the same order as ours
    assert item["agreement"].concordant == 6 and item["opposite"] == []
    cell_list[2]["cell"] = Cell(0.45, 0.0, 3, 3, "ok")  # SinIR now below Gatys and DTP
    [item] = ordering_against_paper(cell_list)
    assert {(a[0], b[0]) for a, b in item["opposite"]} == {("Gatys et al.", "SinIR"), ("SinIR", "DTP, lambda_c = 1/5")}
    assert item["agreement"].tau == pytest.approx((4 - 2) / 6)
