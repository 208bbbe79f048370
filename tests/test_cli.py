"""`dtp stylize` end to end on a real pair, and one clear error for each kind of bad input."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, shared
from dtp_core.cli import main


def test_stylize_end_to_end_on_a_real_pair(tmp_path, dpst_pair):
    out = tmp_path / "out" / "result.png"
    code = main(["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(out), "--size", "32",
                 "--iterations", "3", "--snapshots", "0,2", "--device", "cpu", "--no-progress"])
    assert code == 0
    assert Image.open(out).size == (32, 32)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["status"] == "ok" and sidecar["preset"] == "dtp_lc1_5"
    assert sidecar["parameters"]["iterations"] == 3 and sidecar["parameters"]["size"] == 32
    assert sidecar["seed"] == 1006 and sidecar["device"].startswith("cpu")
    for key in ("weights_sha256", "backbone", "seconds", "peak_rss_mib", "versions", "content_file"):
        assert sidecar[key], key
    rows = list(csv.DictReader(out.with_suffix(".loss.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [0, 1, 2]
    assert set(rows[0]) == {"iteration", "total", "content", "style", "cycle"}
    assert (out.parent / "result.iter0000.png").exists() and (out.parent / "result.iter0002.png").exists()
    assert (out.parent / "result.warped.png").exists()
    assert not list(out.parent.glob(".*part*"))


def test_greyscale_rgba_and_palette_inputs_are_converted(tmp_path):
    out = tmp_path / "grey.png"
    code = main(["stylize", str(shared("dpst/seg/in8.png")), str(shared("ffhq/dps/00014.png")), "-o", str(out),
                 "--size", "32", "--iterations", "1", "--device", "cpu", "--snapshots", "none"])
    assert code == 0 and Image.open(out).mode == "RGB"


@pytest.mark.parametrize("args, message", [
    (["--size", "8"], "size: 8 px is too small"),
    (["--lambda-c", "1.5"], "lambda_c: must be in [0, 1], got 1.5"),
    (["--iterations", "0"], "iterations: must be an integer >= 1, got 0"),
    (["--set", "tau_corr=-1"], "tau_corr: must be > 0"),
    (["--set", "no_such=1"], "--set no_such: is not a DTP parameter"),
    (["--device", "cuda:7"], "device:"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--weights", "/nonexistent/vgg.pth"], "vgg.pth: weights file not found"),
])
def test_bad_options_get_one_clear_error(tmp_path, dpst_pair, capsys, args, message):
    out = tmp_path / "x.png"
    code = main(["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(out), "--iterations", "1", "--size", "32",
                 *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_images_get_one_clear_error_and_nothing_is_overwritten(tmp_path, dpst_pair, capsys):
    out = tmp_path / "keep.png"
    out.write_bytes(b"previous result")
    data = dpst_pair[0].read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:2000])
    code = main(["stylize", str(tmp_path / "cut.png"), str(dpst_pair[1]), "-o", str(out), "--size", "32"])
    err = capsys.readouterr().err
    assert code == 2 and "cut.png: cannot be decoded" in err and "Fix:" in err
    assert out.read_bytes() == b"previous result"
    code = main(["stylize", str(tmp_path / "absent.jpg"), str(dpst_pair[1]), "-o", str(out)])
    assert code == 2 and "absent.jpg: file not found" in capsys.readouterr().err
    code = main(["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(tmp_path / "out.jpg")])
    assert code == 2 and "must end in .png" in capsys.readouterr().err


def test_argparse_type_errors_name_the_option(tmp_path, dpst_pair):
    proc = subprocess.run([sys.executable, "-m", "dtp_core.cli", "stylize", str(dpst_pair[0]), str(dpst_pair[1]),
                           "-o", str(tmp_path / "x.png"), "--size", "big"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "--size: invalid int value: 'big'" in proc.stderr


def test_presets_and_backbone_commands(capsys):
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    for name in ("dtp_lc1_5", "dtp_lc4_5", "dtp_no_warped_feature", "dtp_no_warped_image", "dtp_no_cycle",
                 "dtp_no_fma", "dtp_no_generation"):
        assert name in listed
    assert main(["backbone"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["weights_sha256"]) == 64
