"""Where a file is fetched from: upstream (its pinned raw URL) or the configured mirror.

A mirror is a local folder or an http(s) base URL laid out as `../shared/data` is (each
definition names the mirror's path for every file). Where the mirror keeps a downscaled copy
instead of a byte copy, the definition pins that copy's own sha256, and that is what is checked.
`FIXES` words the downloader's (`dtp_core.fetch`) messages for this stage.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from dtp_core.errors import ConfigError
from dtp_core.fetch import Expected, Fixes

from .definitions import SourceFile

FIXES = Fixes(
    unreachable="check the connection or the mirror (datasets.mirror), then run again",
    mismatch=("the source does not serve the pinned file: point datasets.mirror at a faithful copy, or, if "
              "upstream changed on purpose, update the definition's sha256"),
    missing="the file is not there: check the definition's url, or the mirror's layout",
    absent="the mirror lacks this file: add it to the mirror, or set datasets.mirror: null to fetch it upstream",
)


@dataclass(frozen=True)
class Location:
    url: str              # http(s) URL, or a local path relative to the working directory
    expected: Expected
    origin: str           # "upstream" or "mirror"
    note: str = ""        # what differs from upstream, if anything

    def describe(self) -> str:
        """One line that changes whenever the bytes fetched would (used as a Snakemake param)."""
        return f"{self.url} ({self.expected.describe()})"


def is_remote(mirror: str) -> bool:
    return mirror.startswith(("http://", "https://"))


def locate(file: SourceFile, mirror: str | None) -> Location:
    if not file.pinned:
        raise ConfigError(f"file {file.id}", f"is not pinned (no sha256 for {file.upstream})",
                          "fetch it once, check it and add its sha256 to the definition")
    if mirror is None:
        return Location(url=file.url, expected=Expected(file.sha256, file.bytes), origin="upstream")
    if file.mirror is None:
        raise ConfigError(f"file {file.id}", f"has no mirror path, so it cannot come from the mirror {mirror}",
                          "add `mirror:` to its definition entry, or set datasets.mirror: null")
    relative = urllib.parse.quote(file.mirror) if is_remote(mirror) else file.mirror
    url = f"{mirror.rstrip('/')}/{relative}"
    if file.mirror_sha256 is not None:
        return Location(url=url, expected=Expected(file.mirror_sha256, file.mirror_bytes), origin="mirror",
                        note=f"the mirror's copy, {file.mirror_note or 'not a byte copy of upstream'}")
    return Location(url=url, expected=Expected(file.sha256, file.bytes), origin="mirror")
