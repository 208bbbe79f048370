"""`dtp stylize` end to end on a real pair, and one clear error for each kind of bad input."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, shared
from dtp_core.cli import main
from dtp_core.outputs import planned_paths


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
    planned = planned_paths(out, (0, 2), ("warped",))  # what the CLI checks before the run is what it wrote
    assert sorted(out.parent.iterdir()) == sorted(planned.values())
    assert sidecar["files"] == {key: path.name for key, path in planned.items() if key != "sidecar"}


def test_greyscale_rgba_and_palette_inputs_are_converted(tmp_path):
    out = tmp_path / "grey.png"
    code = main(["stylize", str(shared("dpst/seg/in8.png")), str(shared("ffhq/dps/00014.png")), "-o", str(out),
                 "--size", "32", "--iterations", "1", "--device", "cpu", "--snapshots", "none"])
    assert code == 0 and Image.open(out).mode == "RGB"


@pytest.mark.parametrize("args, message", [
    (["--size", "8"], "size: 8 px is too small"),
    (["--lambda-c", "1.5"], "lambda_c: must be in [0, 1], got 1.5"),
    (["--iterations", "0"], "iterations: must be an integer >= 1, got 0. Fix: change --iterations"),
    (["--set", "tau_corr=-1"], "tau_corr: must be > 0"),
    (["--set", "lambda_w=-1"], "lambda_w: must be in [0, 1], got -1. Fix: change --set lambda_w=VALUE"),
    (["--set", "no_such=1"], "--set no_such: is not a DTP parameter"),
    (["--set", "tau_cor=1"], "--set tau_cor: is not a DTP parameter. Fix: did you mean tau_corr?"),
    (["--set", "lr=abc"], "--set lr: expected a number, got 'abc'"),
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
    code = main(["stylize", str(tmp_path / "cut.png"), str(dpst_pair[1]), "-o", str(out), "--size", "32",
                 "--overwrite"])  # even allowed to, a run that fails on its input replaces nothing
    err = capsys.readouterr().err
    assert code == 2 and "cut.png: cannot be decoded" in err and "Fix:" in err
    assert out.read_bytes() == b"previous result"
    code = main(["stylize", str(tmp_path / "absent.jpg"), str(dpst_pair[1]), "-o", str(out), "--overwrite"])
    assert code == 2 and "absent.jpg: file not found" in capsys.readouterr().err
    code = main(["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(tmp_path / "out.jpg")])
    assert code == 2 and "must end in .png" in capsys.readouterr().err


@pytest.fixture
def no_run(monkeypatch):
    """Refusals come before the backbone weights are resolved and before any training."""
    def never(*args, **kwargs):
        raise AssertionError("a refused run must not reach the backbone or the trainer")
    monkeypatch.setattr("dtp_core.cli.resolve_weights", never)
    monkeypatch.setattr("dtp_core.trainer.stylize", never)


def _tree(root):
    """Every path under `root` with its kind, size and mtime: a refusal must change none of it."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def _refused(tmp_path, capsys, content, style, out, *extra):
    """Run `dtp stylize` expecting a refusal; returns its one stderr line."""
    before = _tree(tmp_path)
    code = main(["stylize", str(content), str(style), "-o", str(out), "--size", "32", "--iterations", "1",
                 "--device", "cpu", "--snapshots", "none", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dtp: error: ") and err.count("\n") == 1 and "Fix: " in err, err
    assert _tree(tmp_path) == before  # nothing written, no folder made, no .part file
    return err.removeprefix("dtp: error: ").rstrip("\n")


@pytest.fixture
def pair(tmp_path, dpst_pair):
    """The real pair copied into tmp_path/in (refusals compare against the inputs' own files)."""
    folder = tmp_path / "in"
    folder.mkdir()
    return shutil.copy(dpst_pair[0], folder / "content.png"), shutil.copy(dpst_pair[1], folder / "style.png")


@pytest.mark.parametrize("spelling", ["same", "dot-slash", "symlink", "hard link"])
def test_output_that_is_the_content_image_is_refused(tmp_path, capsys, monkeypatch, no_run, pair, spelling):
    content, style = map(Path, pair)
    monkeypatch.chdir(content.parent)
    out = {"same": content, "dot-slash": Path("./content.png"), "symlink": tmp_path / "link.png",
           "hard link": tmp_path / "hard.png"}[spelling]
    if spelling == "symlink":
        out.symlink_to(content)
    if spelling == "hard link":
        os.link(content, out)
    message = _refused(tmp_path, capsys, "content.png", style, out, "--overwrite")
    assert message == f"{out}: would overwrite the content image. Fix: choose another -o path"


def test_output_beside_that_is_the_style_image_is_refused(tmp_path, capsys, no_run, pair):
    content, style = map(Path, pair)
    warped = style.with_name("result.warped.png")
    style.rename(warped)  # the style is a previous run's warped image: -o result.png would replace it
    message = _refused(tmp_path, capsys, content, warped, style.with_name("result.png"))
    assert message == (f"{warped}: would overwrite the style image (a run with -o result.png also writes "
                       "result.warped.png). Fix: choose another -o path")


@pytest.mark.parametrize("folder_name", ["x.png", "x.json", "x.loss.csv", "x.working.png"])
def test_output_path_that_is_a_folder_is_refused(tmp_path, capsys, no_run, dpst_pair, folder_name):
    (tmp_path / folder_name).mkdir()
    message = _refused(tmp_path, capsys, *dpst_pair, tmp_path / "x.png", "--full-res")
    assert message == f"{tmp_path / folder_name}: is a folder. Fix: choose another -o path, or move the folder away"


def test_output_under_a_file_is_refused(tmp_path, capsys, no_run, dpst_pair):
    (tmp_path / "notes.txt").write_text("mine")
    out = tmp_path / "notes.txt" / "sub" / "x.png"
    message = _refused(tmp_path, capsys, *dpst_pair, out)
    assert message == f"{out}: parent {tmp_path / 'notes.txt'} is a file. Fix: choose another -o path"


def _read_only(monkeypatch, folder):
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anywhere: report the folder as a user would see it
        real = os.access
        monkeypatch.setattr("dtp_core.outputs.os.access",
                            lambda path, mode: False if os.path.samefile(path, folder) else real(path, mode))


def test_output_in_a_read_only_folder_is_refused(tmp_path, capsys, monkeypatch, no_run, dpst_pair):
    (tmp_path / "ro").mkdir()
    _read_only(monkeypatch, tmp_path / "ro")
    out = tmp_path / "ro" / "x.png"
    message = _refused(tmp_path, capsys, *dpst_pair, out)
    assert message == (f"{out}: folder {tmp_path / 'ro'} is not writable. Fix: choose a folder you can write to, "
                       f"or make {tmp_path / 'ro'} writable (chmod u+w)")
    out = tmp_path / "ro" / "new" / "x.png"  # a folder that would have to be made inside it
    message = _refused(tmp_path, capsys, *dpst_pair, out)
    assert message.startswith(f"{out}: cannot create folder {out.parent}: {tmp_path / 'ro'} is not writable. Fix: ")


def test_existing_result_needs_overwrite(tmp_path, capsys, dpst_pair):
    out = tmp_path / "x.png"
    argv = ["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(out), "--size", "32", "--iterations", "1",
            "--device", "cpu", "--snapshots", "none", "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    message = _refused(tmp_path, capsys, *dpst_pair, out)
    assert message == (f"{out}: already exists, as do x.warped.png, x.loss.csv, x.json. "
                       "Fix: pass --overwrite to replace them, or choose another -o path")
    for name in ("x.png", "x.warped.png", "x.loss.csv"):
        (tmp_path / name).unlink()
    message = _refused(tmp_path, capsys, *dpst_pair, out)  # the sidecar alone still marks a result
    assert message == (f"{out.with_suffix('.json')}: already exists. "
                       "Fix: pass --overwrite to replace it, or choose another -o path")
    assert main([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.loss.csv", "x.png", "x.warped.png"]


def test_animated_input_gets_one_note_on_stderr(tmp_path, capsys, dpst_pair):
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    code = main(["stylize", str(tmp_path / "anim.gif"), str(dpst_pair[1]), "-o", str(tmp_path / "out" / "x.png"),
                 "--size", "32", "--iterations", "1", "--device", "cpu", "--snapshots", "none", "--no-progress",
                 "--full-res"])  # --full-res loads the content twice: still one note
    err = capsys.readouterr().err
    assert code == 0 and Image.open(tmp_path / "out" / "x.png").size == (64, 48)
    notes = [line for line in err.splitlines() if "frames" in line]
    assert notes == [f"note: {tmp_path / 'anim.gif'}: has 3 frames; the first is used "
                     "(save the frame you want as PNG to use another)"]
    assert "Warning" not in err


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


def test_version_names_the_installed_package_and_the_commit(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"dtp (dtp-bench) {importlib.metadata.version('dtp-bench')}")
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert line.endswith(f", git {head}")  # the tests run from a checkout
