"""Download one file, check it against what it must be, and only then put it in place.

The bytes go to a temporary file beside the destination (`dtp_core.atomic`) and are renamed into
place after the size and sha256 match, so an interrupted or killed download, a truncated body or
a wrong file never leaves anything that looks finished, and never replaces a good file already
there. Transient failures (timeouts, dropped connections, truncated bodies, HTTP 408/429/5xx) are
retried with exponential back-off; permanent ones (HTTP 404, a local file that does not exist, a
checksum mismatch) fail at once with one `FetchError` naming the file and the fix.

The "Fix:" part of each message depends on where the file comes from (a dataset's mirror, a
method's entry in baselines/weights.yaml), so the caller gives it (`Fixes`). A file without a
published sha256 can be fetched unpinned (`Expected(None)`): the caller records the sha256 that
came (`Fetched.sha256`).
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

from .atomic import atomic_path
from .errors import FetchError
from .weights import sha256_file

USER_AGENT = "dtp-bench (https://github.com/sunwoo76/Deep_Translation_Prior benchmark)"
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK = 1 << 16
_URL = re.compile(r"^(https?|file)://")


@dataclass(frozen=True)
class Expected:
    """What a fetched file must be: its sha256 (or the pinned prefix of it) and its size."""

    sha256: str | None          # 64 hex digits, or a 16-digit prefix (then `bytes` is also checked); None: unpinned
    bytes: int | None = None

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def problem(self, sha256: str, size: int) -> str | None:
        """None when a file with this digest and size is the pinned one, else what is wrong."""
        if self.bytes is not None and size < self.bytes:
            return f"is truncated: {size} of {self.bytes} bytes"
        if self.bytes is not None and size != self.bytes:
            return f"has {size} bytes, not the pinned {self.bytes}"
        if self.sha256 is not None and not sha256.startswith(self.sha256):
            return f"has sha256 {sha256}, not the pinned {self.sha256}{'...' if len(self.sha256) < 64 else ''}"
        return None

    def describe(self) -> str:
        size = f", {self.bytes} bytes" if self.bytes is not None else ""
        if self.sha256 is None:
            return f"sha256 not pinned{size}"
        return f"sha256 {self.sha256}{'...' if len(self.sha256) < 64 else ''}{size}"


@dataclass(frozen=True)
class Fixes:
    """The "Fix:" part of a `FetchError`, one per kind of failure, worded for where the file comes from."""

    unreachable: str = "check the connection, then run again"           # every try failed transiently
    mismatch: str = ("the source does not serve the pinned file: fetch it from a faithful copy, or, if it "
                     "changed on purpose, update its pinned sha256")   # wrong size or sha256
    missing: str = "the file is not there: check its URL"              # HTTP 404 and other permanent answers
    absent: str = "the local file does not exist: check its path"      # a file:// URL or path that is not there


@dataclass(frozen=True)
class Fetched:
    url: str
    destination: Path
    sha256: str
    bytes: int
    attempts: int


class _Transient(Exception):
    """A failure worth another try."""


def as_url(location: str) -> str:
    """http(s) and file URLs unchanged; a local path (relative to the working directory) as a file URL."""
    return location if _URL.match(location) else Path(location).resolve().as_uri()


def fetch(location: str, destination: str | Path, expected: Expected, *, fixes: Fixes = Fixes(), attempts: int = 4,
          backoff_s: float = 1.0, timeout_s: float = 60.0, report: Callable[[str], None] = print,
          sleep: Callable[[float], None] = time.sleep) -> Fetched:
    """Fetch `location` (URL or local path) to `destination`, checked against `expected`."""
    url = as_url(location)
    destination = Path(destination)
    last = None
    for attempt in range(1, attempts + 1):
        try:
            sha256, size = _download_once(url, destination, expected, fixes, timeout_s)
            return Fetched(url=url, destination=destination, sha256=sha256, bytes=size, attempts=attempt)
        except _Transient as err:
            last = err
            if attempt < attempts:
                delay = backoff_s * 2 ** (attempt - 1)
                report(f"{url}: {err}; try {attempt + 1} of {attempts} in {delay:.2f} s")
                sleep(delay)
    raise FetchError(url, f"failed {attempts} times, last: {last}; nothing was written to {destination}",
                     fixes.unreachable)


def verify_fetched(path: str | Path, expected: Expected) -> str:
    """The sha256 of `path`, a file fetched earlier, which must still be the pinned one: every stage
    that reads a fetched file calls this first, so a file replaced after the fetch (by hand, by
    another tool) stops the run instead of being used. The message sets what is there beside the pin
    (a replaced file is another file, not a "truncated" one) and says how to fetch it anew."""
    path = Path(path)
    if not path.is_file():
        raise FetchError(path, "is missing", "run again: Snakemake fetches it (or check the path)")
    sha256, size = sha256_file(path), path.stat().st_size
    if expected.problem(sha256, size) is not None:
        raise FetchError(path, f"changed after it was fetched: it now has {size} bytes and sha256 {sha256}; "
                               f"the pinned file has {expected.describe()}",
                         f"delete it (rm {path}) and run again: it is fetched anew and checked when a stage needs it")
    return sha256


def check(name: str | Path, sha256: str, size: int, expected: Expected, destination: str | Path,
          fixes: Fixes = Fixes()) -> None:
    """Raise the `FetchError` for a file `name` (URL, or a member of an archive) that is not `expected`."""
    problem = expected.problem(sha256, size)
    if problem is not None:
        raise FetchError(name, f"{problem}; it was not saved (nothing written to {destination})", fixes.mismatch)


def _download_once(url: str, destination: Path, expected: Expected, fixes: Fixes, timeout_s: float) -> tuple[str, int]:
    response = _open(url, fixes, timeout_s)
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
        sha256 = digest.hexdigest()
        if expected.bytes is not None and size < expected.bytes:  # a short body: worth another try
            raise _Transient(expected.problem(sha256, size))
        check(url, sha256, size, expected, destination, fixes)
    return sha256, size


def _open(url: str, fixes: Fixes, timeout_s: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code in TRANSIENT_HTTP:
            raise _Transient(f"HTTP {err.code} {err.reason}") from None
        raise FetchError(url, f"answers HTTP {err.code} {err.reason}", fixes.missing) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, FileNotFoundError):
            raise FetchError(url, "does not exist", fixes.absent) from None
        raise _Transient(f"cannot connect ({err.reason})") from None
    except (http.client.HTTPException, ConnectionError, TimeoutError) as err:
        raise _Transient(f"cannot connect ({type(err).__name__}: {err})") from None
