"""The resize step survives the benchmark's real bad files (data/README.md of the mirror) and turns
each into an 8-bit RGB PNG of the protocol's size; a corrupt or truncated file is an error naming it
that leaves an earlier good output in place."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import shared
from dtp_bench.datasets.jobs import resize_job
from dtp_bench.datasets.resizing import ResizeSpec, resize_file
from dtp_core.errors import ConfigError, ImageError


def _rgba_png_as_jpg(folder):   # upstream PhotoNAS content/27.jpg: PNG data, RGBA, under a .jpg name
    path = folder / "27.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 160, 4), dtype=np.uint8), "RGBA").save(path, "PNG")
    return path


def _jpeg_as_png(folder):       # the DTP repository's in_nas_*.png: JPEG data under a .png name
    path = folder / "in_nas_10.png"
    shutil.copy(shared("photonas/content/10.jpg"), path)
    return path


def _palette_with_transparency(folder):
    path = folder / "palette.png"
    image = Image.fromarray(np.arange(64 * 48, dtype=np.uint8).reshape(48, 64) % 16, "L").convert("P")
    image.save(path, transparency=0)
    return path


def _sixteen_bit(folder):
    path = folder / "sixteen.png"
    Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 21).astype(np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    return path


BAD_FILES = {
    "png-under-jpg-rgba": _rgba_png_as_jpg,
    "jpeg-under-png": _jpeg_as_png,
    "greyscale (dpst/seg/in8)": lambda folder: shared("dpst/seg/in8.png"),
    "rgba (ffhq/dps/00014)": lambda folder: shared("ffhq/dps/00014.png"),
    "palette (wct2 segment)": lambda folder: shared("wct2/content_segment/in00.png"),
    "palette with transparency": _palette_with_transparency,
    "16-bit": _sixteen_bit,
}


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_files_become_rgb_at_the_protocol_size(make, tmp_path):
    source = make(tmp_path)
    destination = tmp_path / "out" / "image.png"
    resize_job(source, destination, "256x256", log=tmp_path / "resize.log")
    with Image.open(destination) as written:
        assert written.format == "PNG" and written.mode == "RGB" and written.size == (256, 256)
    assert "256x256" in (tmp_path / "resize.log").read_text()


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    pixels = np.zeros((32, 64, 3), dtype=np.uint8)
    pixels[:, :32] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6   # "rotate 90 CW to display": the upright picture is 32 wide, 64 high
    Image.fromarray(pixels).save(path, exif=exif.tobytes())
    assert resize_file(path, tmp_path / "out.png", ResizeSpec.parse("long64")) == (64, 32)
    top = np.asarray(Image.open(tmp_path / "out.png"))[:16].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 50   # the red half is on top once rotated


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_corrupt_or_truncated_file_is_an_error_naming_it(damage, tmp_path):
    good = shared("dpst/in/in1.png").read_bytes()
    source = tmp_path / "in1.png"
    source.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"\x89PNG\r\n\x1a\n" + bytes(2000))
    destination = tmp_path / "out.png"
    resize_file(shared("dpst/in/in2.png"), destination, ResizeSpec(256))   # an earlier good output
    before = destination.read_bytes()
    with pytest.raises(ImageError, match=r"in1\.png.*(corrupt|truncated)"):
        resize_job(source, destination, "256x256", log=tmp_path / "resize.log")
    assert destination.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in1.png", "out.png", "resize.log"]
    assert "ERROR" in (tmp_path / "resize.log").read_text()


def test_default_is_exact_256_bilinear_and_keep_aspect_is_selectable(tmp_path):
    source = shared("dpst/in/in1.png")   # 700x437
    assert resize_file(source, tmp_path / "a.png", ResizeSpec.parse("256x256")) == (256, 256)
    assert resize_file(source, tmp_path / "b.png", ResizeSpec.parse("long256")) == (160, 256)
    assert resize_file(source, tmp_path / "c.png", ResizeSpec.parse("512x512")) == (512, 512)
    expected = np.array(Image.open(source).convert("RGB").resize((256, 256), Image.BILINEAR))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), expected)   # the authors' transform


@pytest.mark.parametrize("token", ["256", "256x128", "long", "8x8", "x256", "long99999"])
def test_bad_size_tokens_are_config_errors(token):
    with pytest.raises(ConfigError, match="datasets.sizes"):
        ResizeSpec.parse(token)


def test_size_tokens_round_trip():
    assert ResizeSpec.parse("256x256") == ResizeSpec(256) and ResizeSpec(256).token == "256x256"
    assert ResizeSpec.parse("long512") == ResizeSpec(512, keep_aspect=True) and ResizeSpec(512, True).token == "long512"
