"""The protocol's resize, as a named size that output paths carry (`data/resized/<token>/...`).

`256x256` is the paper's protocol (exactly 256x256, bilinear, aspect ratio not kept, as the
authors' code); `long512` keeps the aspect ratio with the long side 512 (the short side rounded to
a multiple of 16, `dtp_core.images.protocol_shape`). Loading and resizing are `dtp_core.images`'s,
so every method and metric sees the same pixels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dtp_core.errors import ConfigError
from dtp_core.images import load_image, protocol_shape, resize, save_png

MIN_SIZE, MAX_SIZE = 16, 4096
_TOKEN = re.compile(r"^(?:(\d+)x(\d+)|long(\d+))$")


@dataclass(frozen=True)
class ResizeSpec:
    size: int
    keep_aspect: bool = False

    @property
    def token(self) -> str:
        return f"long{self.size}" if self.keep_aspect else f"{self.size}x{self.size}"

    @classmethod
    def parse(cls, token: str) -> "ResizeSpec":
        match = _TOKEN.match(str(token))
        if match is None or (match.group(1) and match.group(1) != match.group(2)):
            raise ConfigError("datasets.sizes", f"{token!r} is not a size",
                              "write 'SxS' (exactly S x S, bilinear: the paper uses 256x256) or 'longS' "
                              "(long side S, aspect ratio kept)")
        size = int(match.group(1) or match.group(3))
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ConfigError("datasets.sizes", f"{token!r}: {size} px is outside {MIN_SIZE}..{MAX_SIZE}",
                              "pick a size in that range")
        return cls(size=size, keep_aspect=match.group(3) is not None)

    def shape(self, height: int, width: int) -> tuple[int, int]:
        return protocol_shape(height, width, size=self.size, keep_aspect=self.keep_aspect)


def resize_file(source: str | Path, destination: str | Path, spec: ResizeSpec) -> tuple[int, int]:
    """Load `source` robustly (any mode, EXIF orientation, PNG under .jpg), resize it to the protocol
    and write an 8-bit RGB PNG atomically. Returns the (height, width) written."""
    array = load_image(source)
    resized = resize(array, spec.shape(*array.shape[:2]))
    save_png(destination, resized)
    return resized.shape[:2]
