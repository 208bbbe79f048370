"""A user's own folder of images (e.g. the full CelebA-HQ) as candidates for seeded pairs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dtp_core.errors import ConfigError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
FOLDER_PREFIX = "folder"      # image ids of a user's folder start with this, apart from the pool's
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class FolderImage:
    id: str        # "folder/<relative path without suffix>"
    path: Path


def scan_folder(folder: str | Path, option: str) -> list[FolderImage]:
    """Every image file under `folder` (recursively), sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(option, f"{folder} is not a folder", "point it at the folder that holds the images")
    images: dict[str, FolderImage] = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        relative = path.relative_to(folder).with_suffix("")
        if not all(_SAFE_NAME.match(part) for part in relative.parts):
            raise ConfigError(option, f"{path}: the name has characters other than letters, digits and _ . + -",
                              "rename the file (its name becomes part of output paths)")
        image_id = f"{FOLDER_PREFIX}/{relative.as_posix()}"
        if image_id in images:
            raise ConfigError(option, f"{path} and {images[image_id].path} differ only in their suffix",
                              "keep one of them")
        images[image_id] = FolderImage(id=image_id, path=path)
    if not images:
        raise ConfigError(option, f"{folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
                          "point it at the folder that holds the images")
    return list(images.values())
