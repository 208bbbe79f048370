"""Train small, deliver full size: `dtp stylize --full-res`, the library call, the workflow's deliver stage."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared
from dtp_core.cli import main
from dtp_core.fullres import deliver_full_res, load_full_size
from dtp_core.images import load_image, resize, to_tensor
from dtp_core.method import StylizeResult
from dtp_core.upsample import UpsamplerConfig
from workflow_sandbox import make_workdir, run_snakemake


def test_cli_full_res_delivers_at_the_contents_own_size(tmp_path, dpst_pair):
    out = tmp_path / "full.png"
    code = main(["stylize", str(dpst_pair[0]), str(dpst_pair[1]), "-o", str(out), "--size", "32", "--iterations", "2",
                 "--snapshots", "none", "--device", "cpu", "--no-progress", "--full-res"])
    assert code == 0
    height, width = load_image(dpst_pair[0]).shape[:2]
    assert Image.open(out).size == (width, height)
    assert Image.open(out.with_suffix(".working.png")).size == (32, 32)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    full_res = sidecar["full_res"]
    assert full_res["working_shape"] == [32, 32] and full_res["output_shape"] == [height, width]
    assert full_res["upsampler_parameters"] == UpsamplerConfig().to_dict() and full_res["seconds"] >= 0
    assert sidecar["files"]["working"] == "full.working.png"


def test_full_res_with_keep_aspect_trains_on_the_aspect_kept_image(tmp_path):
    content = shared("dpst/in/in7.png")  # 700x394
    out = tmp_path / "wide.png"
    code = main(["stylize", str(content), str(shared("dpst/tar/tar7.png")), "-o", str(out), "--size", "64",
                 "--keep-aspect", "--iterations", "1", "--snapshots", "none", "--device", "cpu", "--full-res"])
    assert code == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["full_res"]["working_shape"] == [32, 64] and sidecar["full_res"]["output_shape"] == [394, 700]


def test_exif_rotated_content_comes_out_upright(tmp_path, dpst_pair):
    array = load_image(dpst_pair[0])[:120, :200]  # a landscape crop, stored sideways with EXIF "rotate 90"
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(array, k=1)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the viewer rotates 90 degrees clockwise
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=95)
    assert load_full_size(path).shape[-2:] == (120, 200)
    out = tmp_path / "upright.png"
    code = main(["stylize", str(path), str(dpst_pair[1]), "-o", str(out), "--size", "32", "--iterations", "1",
                 "--snapshots", "none", "--device", "cpu", "--full-res"])
    assert code == 0 and Image.open(out).size == (200, 120)


def test_library_call_keeps_the_working_result_and_records_the_delivery():
    content_full = torch.rand(1, 3, 90, 150)
    content_small = to_tensor(resize((content_full[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), (30, 50)))
    working = StylizeResult(image=content_small.clone(), facts={"method": "identity"})
    delivered = deliver_full_res(working, content_small, content_full)
    assert delivered.image.shape == (1, 3, 90, 150) and delivered.extras["working"] is working.image
    assert delivered.facts["method"] == "identity" and delivered.facts["full_res"]["output_shape"] == [90, 150]
    # the working output is the content itself: delivery gives the full-size content back
    assert (delivered.image - content_full).abs().max() < 0.05  # 8-bit rounding of the small content only


@pytest.mark.slow
def test_workflow_scores_delivered_outputs_as_rows_of_their_own(tmp_path):
    make_workdir(tmp_path, shared("."), {
        "methods": {"reinhard": {}, "wct": {}},  # no WCT checkpoint here: its delivered cell says why
        "datasets": {"names": ["photo-r"], "limit": 1, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "metrics": {"enabled": ["ssim", "histogram"]},
        "delivery": {"size": "long96", "methods": ["reinhard", "wct"], "upsampler": {"radius": 2}},
    })
    run = run_snakemake(tmp_path, "--cores", "2", "--", "results/table_full.csv")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    (sidecar_file,) = (tmp_path / "results/outputs/photo-r/reinhard@long96").glob("*.json")
    sidecar = json.loads(sidecar_file.read_text())
    assert sidecar["status"] == "ok" and sidecar["full_res"]["working_shape"] == [32, 32]
    assert max(Image.open(sidecar_file.with_suffix(".png")).size) == 96
    assert sidecar["full_res"]["upsampler_parameters"]["radius"] == 2
    assert "data/resized/long96/" in sidecar["content_file"]
    (metrics_file,) = (tmp_path / "results/metrics/photo-r/reinhard@long96").glob("*.json")
    assert json.loads(metrics_file.read_text())["metrics"]["ssim"]["status"] == "ok"
    (wct,) = (tmp_path / "results/outputs/photo-r/wct@long96").glob("*.json")
    assert json.loads(wct.read_text())["status"] == "unavailable"
    table = (tmp_path / "results/table_full.csv").read_text()
    assert "delivered at long96" in table


def test_delivering_a_method_the_config_does_not_run_is_refused_up_front(tmp_path):
    make_workdir(tmp_path, shared("."), {
        "methods": {"reinhard": {}},
        "datasets": {"names": ["photo-r"], "limit": 1, "sizes": ["32x32"]},
        "delivery": {"size": "64x64", "methods": ["reinhard", "gatys"]},
    })
    run = run_snakemake(tmp_path, "--cores", "1", "--dry-run")
    assert run.returncode != 0
    assert "delivery.methods: gatys is not under `methods:`" in run.stdout + run.stderr
