"""Image loading survives what real benchmark folders hold, and refuses the rest clearly."""

import os
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared
from dtp_core.errors import ImageError
from dtp_core.images import (ImageNote, denormalize, load_image, load_pair, normalize, protocol_shape, resize, save_png,
                             to_tensor, to_uint8)


@pytest.mark.parametrize("relative, mode", [
    ("dpst/seg/in8.png", "L"),                       # greyscale
    ("wct2/content_segment/in00.png", "P"),          # palette
    ("wct2/style_segment/in64.png", "I;16"),         # 16-bit
    ("ffhq/dps/00014.png", "RGBA"),                  # alpha channel
])
def test_real_quirky_files_become_rgb(relative, mode):
    path = shared(relative)
    with Image.open(path) as img:
        assert img.mode == mode
        size = img.size
    array = load_image(path)
    assert array.dtype == np.uint8 and array.shape == (size[1], size[0], 3)


def test_16_bit_values_are_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100, 65535, 30000]] * 16, dtype=np.uint16).repeat(4, axis=1)
    Image.fromarray(values).save(tmp_path / "deep.png")
    row = load_image(tmp_path / "deep.png")[0, ::4, 0]
    assert row.tolist() == [0, 100, 255, round(30000 / 257)]


def test_png_data_under_a_jpg_name(tmp_path):
    source = shared("dpst/in/in1.png")
    shutil.copy(source, tmp_path / "actually_png.jpg")
    assert np.array_equal(load_image(tmp_path / "actually_png.jpg"), load_image(source))


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    shown = load_image(tmp_path / "rotated.jpg")
    assert shown.shape == (40, 20, 3)
    assert shown[:20].mean() > 200 and shown[20:].mean() < 50  # the white half is now on top


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (32, 32), 1)
    img.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    img.info["transparency"] = 0
    img.save(tmp_path / "pal.png", transparency=0)
    assert load_image(tmp_path / "pal.png")[0, 0].tolist() == [200, 10, 10]


def test_truncated_file_is_an_error_naming_it(tmp_path):
    data = shared("dpst/in/in2.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: cannot be decoded .*corrupt or truncated"):
        load_image(tmp_path / "cut.png")
    jpeg = shared("celebahq/sean/28179.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    with pytest.raises(ImageError, match=r"cut\.jpg"):
        load_image(tmp_path / "cut.jpg")


def test_corrupt_missing_folder_and_tiny_files(tmp_path):
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ImageError, match=r"noise\.png: is not an image file"):
        load_image(tmp_path / "noise.png")
    with pytest.raises(ImageError, match=r"missing\.png: file not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageError, match=r"dot\.png: is only 1x1 pixels; the minimum is 16 px per side \(the "
                       r"smallest working size: VGG's deepest level is 1/16 of the image\)\. Fix: use an image of "
                       r"at least 16x16 pixels$"):
        load_image(tmp_path / "dot.png")
    assert load_image(tmp_path / "dot.png", min_side=1).shape == (1, 1, 3)  # figures show any size


def test_unreadable_file_says_permission_denied_not_corrupt(tmp_path, dpst_pair, monkeypatch):
    locked = tmp_path / "locked.png"
    shutil.copy(dpst_pair[0], locked)
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything: make Pillow's open fail as it would for a user
        def refuse(fp, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(fp))
        monkeypatch.setattr("dtp_core.images.Image.open", refuse)
    with pytest.raises(ImageError, match=r"locked\.png: cannot be read \(permission denied\)\. Fix: make it readable"):
        load_image(locked)


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").touch()
    with pytest.raises(ImageError, match=r"empty\.jpg: is empty \(0 bytes\)\. Fix: copy or download it again$"):
        load_image(tmp_path / "empty.jpg")


def test_symbolic_link_loop(tmp_path):
    (tmp_path / "a.png").symlink_to("b.png")
    (tmp_path / "b.png").symlink_to("a.png")
    with pytest.raises(ImageError, match=r"a\.png: is a symbolic link loop\. Fix: point the link at an image file"):
        load_image(tmp_path / "a.png")


def test_dangling_symbolic_link_names_its_target(tmp_path):
    (tmp_path / "link.png").symlink_to("moved/photo.png")
    target = os.path.realpath(tmp_path / "moved" / "photo.png")
    with pytest.raises(ImageError) as caught:
        load_image(tmp_path / "link.png")
    assert str(caught.value) == (f"{tmp_path / 'link.png'}: points to {target}, which does not exist. "
                                 "Fix: fix the link, or pass the file it was meant to point to")


@pytest.mark.parametrize("suffix, format", [("gif", "GIF"), ("png", "PNG"), ("webp", "WEBP")])
def test_animation_gives_its_first_frame_and_a_note(tmp_path, suffix, format):
    frames = [Image.new("RGB", (32, 24), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    path = tmp_path / f"anim.{suffix}"
    frames[0].save(path, format=format, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        array = load_image(path)
    assert array.shape == (24, 32, 3) and array[..., 0].min() > 200 and array[..., 1:].max() < 20
    notes = [str(w.message) for w in caught if issubclass(w.category, ImageNote)]
    assert notes == [f"{path}: has 3 frames; the first is used (save the frame you want as PNG to use another)"]
    Image.new("RGB", (32, 24)).save(tmp_path / "still.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageNote)  # a one-frame GIF gets no note
        load_image(tmp_path / "still.gif")


def test_forty_megapixels_load_and_a_bomb_is_refused(tmp_path):
    Image.new("RGB", (8000, 5000), (10, 20, 30)).save(tmp_path / "big.png", compress_level=1)
    array = load_image(tmp_path / "big.png")
    assert array.shape == (5000, 8000, 3)
    Image.new("L", (12000, 9000)).save(tmp_path / "bomb.png", compress_level=1)  # 108 MP
    with pytest.raises(ImageError, match=r"bomb\.png: is 12000x9000 = 108 megapixels"):
        load_image(tmp_path / "bomb.png")


def test_protocol_resize_is_pillow_bilinear_square_by_default():
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (70, 50, 3), dtype=np.uint8)
    out = resize(array, protocol_shape(70, 50, 32, keep_aspect=False))
    expected = np.asarray(Image.fromarray(array).resize((32, 32), Image.BILINEAR))
    assert np.array_equal(out, expected)
    assert protocol_shape(700, 437, 256, keep_aspect=True) == (256, 160)
    assert protocol_shape(394, 700, 256, keep_aspect=True) == (144, 256)


def test_load_pair_keep_aspect_gives_the_style_the_content_shape(dpst_pair):
    content, style = load_pair(*dpst_pair, size=128, keep_aspect=True)
    assert content.shape == style.shape == (1, 3, 80, 128)  # in1 is 700x437


def test_tensor_round_trip_and_normalisation(tmp_path):
    array = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    tensor = to_tensor(array)
    assert tensor.shape == (1, 3, 20, 30) and 0 <= tensor.min() and tensor.max() <= 1
    assert np.array_equal(to_uint8(tensor), array)
    assert torch.allclose(denormalize(normalize(tensor)), tensor, atol=1e-6)
    save_png(tmp_path / "x.png", tensor)
    assert np.array_equal(load_image(tmp_path / "x.png"), array)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary file left behind
