"""Image I/O shared by every method and metric: robust loading, protocol resizing, tensors, PNGs.

Loading accepts what real benchmark folders contain (PNG data under a .jpg name, RGBA, greyscale,
palette, 16-bit, EXIF-rotated files) and turns all of it into 8-bit RGB. Anything that cannot be
used raises `ImageError` naming the file and the fix.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .atomic import atomic_path
from .errors import ImageError, Note

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# 100 megapixels: a 40 MP camera photo loads; anything beyond is refused before decoding, so a
# decompression bomb cannot exhaust memory. Pillow's own (warning) limit is 89 MP.
MAX_SOURCE_PIXELS = 100_000_000
# Every input is resized to the working size, whose floor is 16 px (VGG's deepest level is 1/16 of
# the image); a source below that floor would only be blown up, so it is refused as a likely mistake.
MIN_SOURCE_SIDE = 16
MIN_SIDE_REASON = "the smallest working size: VGG's deepest level is 1/16 of the image"
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never a half-grey image

READABLE_FIX = "make it readable (chmod u+r), or copy it somewhere you can read it"


class ImageNote(Note):
    """A fact about an input that does not stop the run (e.g. only an animation's first frame is
    used)."""


def load_image(path: str | os.PathLike, *, min_side: int = MIN_SOURCE_SIDE) -> np.ndarray:
    """Read any common image file as an (H, W, 3) uint8 RGB array.

    The format is detected from the bytes, not the suffix. EXIF orientation is applied. Alpha is
    dropped (as OpenCV's `imread`, which the DTP authors use, does); greyscale and palette images
    are expanded; 16-bit images are scaled to 8 bits. Of an animation (GIF, APNG, WebP) the first
    frame is used, with an `ImageNote` warning saying so.
    """
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size ourselves
            img = Image.open(path)
        with img:
            _check_pixels(path, img)
            _note_frames(path, img)
            img.load()
            img = ImageOps.exif_transpose(img)
            array = _to_rgb8(img)
    except ImageError:
        raise
    except PermissionError:  # an OSError too: without this it would read as "corrupt"
        raise ImageError(path, "cannot be read (permission denied)", READABLE_FIX) from None
    except Image.DecompressionBombError as err:
        raise ImageError(path, f"has too many pixels to decode safely ({err})",
                         "downscale it first (e.g. to 4096 px on the long side)") from None
    except UnidentifiedImageError:
        raise ImageError(path, "is not an image file Pillow can read (corrupt or unsupported format)",
                         "re-export it as PNG or JPEG") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(path, f"cannot be decoded ({err}); the file is corrupt or truncated",
                         "download or copy it again") from None
    _check_side(path, array, min_side)
    return array


def _check_file(path: Path) -> None:
    """Diagnose a path that is no readable, non-empty file before Pillow sees it: Pillow would call
    an empty file "not an image" and `Path.exists` calls a link loop "not found"."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ImageError(path, f"points to {os.path.realpath(path)}, which does not exist",
                             "fix the link, or pass the file it was meant to point to") from None
        raise ImageError(path, "file not found",
                         "check the path (relative paths start from the current folder)") from None
    except NotADirectoryError:
        raise ImageError(path, "file not found (a folder on its path is a file)", "check the path") from None
    except PermissionError:
        raise ImageError(path, "cannot be read (permission denied)", READABLE_FIX) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ImageError(path, "is a symbolic link loop",
                             "point the link at an image file (ls -l shows where it leads)") from None
        raise ImageError(path, f"cannot be opened ({err.strerror})", "check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(path, "is a folder, not an image file", "pass the path of one image file")
    if info.st_size == 0:
        raise ImageError(path, "is empty (0 bytes)", "copy or download it again")


def _check_pixels(path: Path, img: Image.Image) -> None:
    """Refuse a decompression bomb from its header, before any pixel is decoded."""
    width, height = img.size
    if width * height > MAX_SOURCE_PIXELS:
        raise ImageError(
            path, f"is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
            f"{MAX_SOURCE_PIXELS / 1e6:.0f} MP limit", "downscale it first (e.g. to 4096 px on the long side)")


def _note_frames(path: Path, img: Image.Image) -> None:
    # MPO is a camera JPEG carrying a preview or second view beside the photo (frame 1): the
    # photo is the one wanted, so saying so would only be noise.
    frames = getattr(img, "n_frames", 1)
    if frames > 1 and img.format != "MPO":
        warnings.warn(f"{path}: has {frames} frames; the first is used (save the frame you want as PNG to use "
                      "another)", ImageNote, stacklevel=3)


def _check_side(path: Path, array: np.ndarray, min_side: int) -> None:
    height, width = array.shape[:2]
    if min(height, width) >= min_side:
        return
    why = f" ({MIN_SIDE_REASON})" if min_side == MIN_SOURCE_SIDE else ""
    raise ImageError(path, f"is only {width}x{height} pixels; the minimum is {min_side} px per side{why}",
                     f"use an image of at least {min_side}x{min_side} pixels")


def _to_rgb8(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(img, dtype=np.float64)
        grey = np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8)  # 65535 -> 255
        return np.repeat(grey[..., None], 3, axis=2)
    if img.mode == "F":
        grey = np.clip(np.round(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def protocol_shape(height: int, width: int, size: int, keep_aspect: bool, multiple: int = 16) -> tuple[int, int]:
    """The (height, width) an image is resized to: `size` x `size`, or the long side = `size` with
    the aspect ratio kept (the short side rounded to a multiple of `multiple`, so every VGG level
    has an exact size)."""
    if not keep_aspect:
        return size, size
    scale = size / max(height, width)
    short = max(multiple, int(round(min(height, width) * scale / multiple)) * multiple)
    return (size, short) if height >= width else (short, size)


def resize(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with Pillow, exactly as torchvision's `Resize` does on a PIL image (the
    DTP authors' protocol). `shape` is (height, width)."""
    height, width = shape
    if array.shape[:2] == (height, width):
        return array
    return np.array(Image.fromarray(array).resize((width, height), Image.BILINEAR), dtype=np.uint8)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) float in [0, 1] -> (H, W, 3) uint8 (clipped, rounded)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of shape {tuple(image.shape)}")
        image = image[0]
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(array)


def save_png(path: str | os.PathLike, image: torch.Tensor | np.ndarray) -> None:
    """Write an RGB image (tensor in [0, 1] or uint8 array) as PNG, atomically."""
    array = image if isinstance(image, np.ndarray) else to_uint8(image)
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def load_pair(content_path, style_path, size: int = 256, keep_aspect: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Load and resize a (content, style) pair to the protocol's shape, as (1, 3, H, W) tensors.

    With `keep_aspect` the content keeps its aspect ratio and the style is resized to the content's
    shape: the methods compare patches, not layouts, and one shape lets every pass be batched.
    """
    content = load_image(content_path)
    style = load_image(style_path)
    shape = protocol_shape(*content.shape[:2], size=size, keep_aspect=keep_aspect)
    return to_tensor(resize(content, shape)), to_tensor(resize(style, shape))


def normalize(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB -> ImageNet-normalised (what VGG expects)."""
    mean = image.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = image.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (image - mean) / std


def denormalize(image: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised -> [0, 1] RGB (not clipped)."""
    mean = image.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = image.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return image * std + mean
