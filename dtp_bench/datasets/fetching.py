"""Download one file, check it against its pinned sha256, and only then put it in place.

The bytes go to a temporary file beside the destination (`dtp_core.atomic`) and are renamed into
place after the size and sha256 match, so an interrupted or killed download, a truncated body or
a wrong file never leaves anything that looks finished, and never replaces a good file already
there. Transient failures (timeouts, dropped connections, truncated bodies, HTTP 408/429/5xx) are
retried with exponential back-off; permanent ones (HTTP 404, a file the mirror lacks, a checksum
mismatch) fail at once with one message naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dtp_core.atomic import atomic_path
from dtp_core.errors import ImageError

from .checksums import Expected

USER_AGENT = "dtp-bench (https://github.com/sunwoo76/Deep_Translation_Prior benchmark)"
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK = 1 << 16
_URL = re.compile(r"^(https?|file)://")


class FetchError(ImageError):
    """A file that could not be fetched as pinned: unreachable, missing, truncated or different."""


class _Transient(Exception):
    """A failure worth another try."""


@dataclass(frozen=True)
class Fetched:
    url: str
    destination: Path
    sha256: str
    bytes: int
    attempts: int


def as_url(location: str) -> str:
    """http(s) and file URLs unchanged; a local path (relative to the working directory) as a file URL."""
    return location if _URL.match(location) else Path(location).resolve().as_uri()


def fetch(location: str, destination: str | Path, expected: Expected, *, attempts: int = 4, backoff_s: float = 1.0,
          timeout_s: float = 60.0, report: Callable[[str], None] = print,
          sleep: Callable[[float], None] = time.sleep) -> Fetched:
    """Fetch `location` (URL or local path) to `destination`, checked against `expected`."""
    url = as_url(location)
    destination = Path(destination)
    last = None
    for attempt in range(1, attempts + 1):
        try:
            sha256, size = _download_once(url, destination, expected, timeout_s)
            return Fetched(url=url, destination=destination, sha256=sha256, bytes=size, attempts=attempt)
        except _Transient as err:
            last = err
            if attempt < attempts:
                delay = backoff_s * 2 ** (attempt - 1)
                report(f"{url}: {err}; try {attempt + 1} of {attempts} in {delay:.2f} s")
                sleep(delay)
    raise FetchError(url, f"failed {attempts} times, last: {last}; nothing was written to {destination}",
                     "check the connection or the mirror (datasets.mirror), then run again")


def _download_once(url: str, destination: Path, expected: Expected, timeout_s: float) -> tuple[str, int]:
    response = _open(url, timeout_s)
    with response, atomic_path(destination) as tmp:
        digest, size = hashlib.sha256(), 0
        declared = response.headers.get("Content-Length")
        with open(tmp, "wb") as out:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                    raise _Transient(f"connection lost after {size} bytes ({type(err).__name__})") from None
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if declared is not None and declared.isdigit() and size != int(declared):
            raise _Transient(f"truncated: {size} of {declared} bytes")
        problem = expected.problem(digest.hexdigest(), size)
        if problem is not None and expected.bytes is not None and size < expected.bytes:
            raise _Transient(problem)
        if problem is not None:
            raise FetchError(url, f"{problem}; it was not saved (nothing written to {destination})",
                             "the source does not serve the pinned file: point datasets.mirror at a faithful "
                             "copy, or, if upstream changed on purpose, update the definition's sha256")
    return digest.hexdigest(), size


def _open(url: str, timeout_s: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code in TRANSIENT_HTTP:
            raise _Transient(f"HTTP {err.code} {err.reason}") from None
        raise FetchError(url, f"answers HTTP {err.code} {err.reason}",
                         "the file is not there: check the definition's url, or the mirror's layout") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, FileNotFoundError):
            raise FetchError(url, "does not exist (the mirror lacks this file)",
                             "add it to the mirror, or set datasets.mirror: null to fetch it upstream") from None
        raise _Transient(f"cannot connect ({err.reason})") from None
    except (http.client.HTTPException, ConnectionError, TimeoutError) as err:
        raise _Transient(f"cannot connect ({type(err).__name__}: {err})") from None
