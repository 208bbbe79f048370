"""The project's user-facing errors: each says what went wrong, where, and how to fix it.

Every error a user can cause (a bad image, a bad option, missing weights) is one of these, so the
CLI and the workflow can print one clear line instead of a traceback, and the workflow can turn
`MethodUnavailable` into a table cell marked unavailable instead of a failed run.
"""

from __future__ import annotations

import sys


class Note(UserWarning):
    """A fact the user should know that does not stop the run (an animation's first frame used, a
    slow numeric mode). The CLI prints each once as a "note:" line; elsewhere (the workflow's job
    logs) it is an ordinary warning."""


class DTPError(Exception):
    """Base class: a problem the user can fix. `str(err)` is the whole message."""


class FileError(DTPError):
    """A file that cannot be used: the message is ``PATH: problem. Fix: fix``."""

    def __init__(self, path, problem: str, fix: str):
        self.path, self.problem, self.fix = str(path), problem, fix
        super().__init__(f"{path}: {problem}. Fix: {fix}")


class ImageError(FileError, ValueError):
    """An input image that cannot be used (missing, unreadable, truncated, too small)."""


class WeightsFileError(FileError):
    """A weights or checkpoint file that cannot be used (absent, unreadable, refused because loading
    it could run code, or not the network's)."""


class FetchError(FileError, ValueError):
    """A file that could not be fetched as pinned: unreachable, missing, truncated or different."""


class OutputError(FileError):
    """An output path a run must not or cannot write: an input, a folder, a result already there, a
    folder that cannot be written. Raised before any work starts."""


class ConfigError(DTPError, ValueError):
    """A configuration value out of its allowed range or of the wrong kind."""

    def __init__(self, option: str, problem: str, fix: str = ""):
        self.option, self.problem, self.fix = option, problem, fix
        tail = f" Fix: {fix}" if fix else ""
        super().__init__(f"{option}: {problem}.{tail}")


class MethodUnavailable(DTPError):
    """A method (or a metric) cannot run here because a file it needs is absent.

    The message always has the form ``unavailable: needs FILE from URL (how)`` so that tables can
    quote it as the reason for an empty cell.
    """

    def __init__(self, needs: str, source: str, how: str = ""):
        self.needs, self.source, self.how = needs, source, how
        tail = f" ({how})" if how else ""
        super().__init__(f"unavailable: needs {needs} from {source}{tail}")


def exit_status(run, program: str, interrupted: str = "interrupted; nothing was written") -> int:
    """Run a command-line entry point: a `DTPError` becomes one line on stderr and status 2,
    Ctrl-C (or SIGTERM turned into KeyboardInterrupt) status 130; no traceback for either."""
    try:
        return run()
    except DTPError as err:
        print(f"{program}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{program}: {interrupted}", file=sys.stderr)
        return 130
