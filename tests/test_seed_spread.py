"""benchmarks/seed_spread.py's bands: which seed noise a paired difference of means is held against.

A difference of means over n pairs between two methods that both move with the seed has variance
(s_ref^2 + s_other^2) / n; a method that draws no random numbers contributes nothing. The band is
1.96 times that standard deviation."""

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "seed_spread.py"


@pytest.fixture(scope="module")
def seed_spread():
    spec = importlib.util.spec_from_file_location("seed_spread", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spread_rows(sd):
    return pd.DataFrame([{"dataset": "ffhq", "metric": metric, "pairs": 3, "seeds": 3, "pooled_sd": sd,
                          "mean_range": 2 * sd, "largest_range": 3 * sd} for metric in ("ssim", "lpips", "gram", "histogram")])


def test_spreads_are_kept_per_method_and_replaced_on_remeasure(seed_spread, tmp_path):
    seed_spread.save_spread(tmp_path, "dtp_lc1_5", spread_rows(0.03))
    seed_spread.save_spread(tmp_path, "sinir", spread_rows(0.01))
    seed_spread.save_spread(tmp_path, "sinir", spread_rows(0.02))  # measured again: replaces
    kept = pd.read_csv(tmp_path / "seed_spread.csv")
    assert sorted(kept.groupby("method").size().items()) == [("dtp_lc1_5", 4), ("sinir", 4)]
    assert set(kept[kept.method == "sinir"].pooled_sd) == {0.02}
    assert set(kept[kept.method == "dtp_lc1_5"].pooled_sd) == {0.03}


def test_bands_add_the_two_methods_seed_variances(seed_spread, tmp_path, capsys):
    seed_spread.save_spread(tmp_path, "dtp_lc1_5", spread_rows(0.03))
    seed_spread.save_spread(tmp_path, "sinir", spread_rows(0.04))
    n, rows = 3, []
    for method, label, difference in (("sinir", "SinIR", 0.07), ("dtp_lc4_5", "DTP 4/5", 0.05),
                                      ("reinhard", "Reinhard", 0.035), ("strotss", "STROTSS", -0.033)):
        row = {"method": method, "label": label, "dataset": "ffhq"}
        for metric in ("ssim", "lpips", "gram", "histogram"):
            row |= {f"{metric}_minus_dtp_lc1_5": difference, f"{metric}_minus_dtp_lc1_5_n": n}
        rows.append(row)
    pd.DataFrame(rows).to_csv(tmp_path / "table_full.csv", index=False)
    seed_spread.print_noise_bands(tmp_path, "dtp_lc1_5")
    lines = {line.split("|")[1].strip(): line for line in capsys.readouterr().out.splitlines()
             if line.startswith("| ") and " vs " in line}
    measured = 1.96 * math.sqrt((0.03 ** 2 + 0.04 ** 2) / n)   # 0.0566: SinIR's own spread counted
    assumed = 1.96 * 0.03 * math.sqrt(2 / n)                   # 0.0480: a DTP variant spreads as DTP
    alone = 1.96 * 0.03 / math.sqrt(n)                         # 0.0339: no random numbers on that side
    assert f"+0.070 vs ±{measured:.3f} |" in lines["SinIR"]
    assert f"+0.050 vs ±{assumed:.3f} |" in lines["DTP 4/5"]
    assert f"+0.035 vs ±{alone:.3f} |" in lines["Reinhard"]  # 0.035 > 0.0339: outside, no "noise"
    assert f"-0.033 vs ±{alone:.3f} noise" in lines["STROTSS"]  # not measured in this file: counted as 0
