"""Refuse, before any job runs, a run that would replace finished outputs made otherwise.

Snakemake reruns a job whose params or input files changed, and deletes the job's output first. In
a results folder that already holds outputs, a changed `methods.<m>.params` or `datasets.sizes` (or
a config file pointed at the wrong `results:`) would therefore replace hours of results without a
word. Each stylize sidecar records the inputs and the parameters it was made with (`content_file`,
`style_file`, `job_params`); the workflow compares them with what it is about to run, and stops with
one error that lists what would be replaced and how to keep it (docs/refusals.md, "Runs never share
outputs"). Only finished (`ok`) outputs are guarded: a failed or unavailable cell holds no work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dtp_core.errors import ConfigError

SHOWN = 5  # outputs named in the error; the rest are counted


@dataclass(frozen=True)
class PlannedOutput:
    """What one stylize job of this run would write, and from what."""
    sidecar: str
    content: str
    style: str
    params: dict


def differences(planned: PlannedOutput) -> list[str]:
    """How the finished output at `planned.sidecar` was made otherwise than planned ([] if it was
    not, or if there is no finished output there)."""
    try:
        made = json.loads(Path(planned.sidecar).read_text())
    except (OSError, ValueError):  # absent, or unreadable: nothing finished to keep
        return []
    if not isinstance(made, dict) or made.get("status") != "ok" or "job_params" not in made:
        return []  # failed, unavailable, or written before sidecars recorded their params
    found = []
    for recorded, wanted in ((made.get("content_file"), planned.content), (made.get("style_file"), planned.style)):
        if recorded is not None and (change := _path_change(recorded, wanted)) and change not in found:
            found.append(change)
    recorded = made["job_params"]
    for key in sorted(set(recorded) | set(planned.params)):
        before, after = recorded.get(key, "(default)"), planned.params.get(key, "(default)")
        if before != after:
            found.append(f"{key}: {before} -> {after}")
    return found


def _path_change(before: str, after: str) -> str:
    """'inputs 32x32 -> 48x48' where only some folders of the path differ (the usual case: another
    size), else both paths; '' when they are the same path."""
    old, new = Path(os.path.normpath(before)).parts, Path(os.path.normpath(after)).parts
    if old == new:
        return ""
    if len(old) == len(new) and old[-1] == new[-1]:
        changed = [(a, b) for a, b in zip(old, new) if a != b]
        return f"inputs {'/'.join(a for a, _ in changed)} -> {'/'.join(b for _, b in changed)}"
    return f"input {before} -> {after}"


def refuse_replacing(planned: list[PlannedOutput], results: str) -> None:
    """Raise one `ConfigError` if any planned job would replace a finished output made otherwise:
    the clashes grouped by folder and by what changed, the first few groups named."""
    groups: dict[tuple[str, tuple[str, ...]], int] = {}
    for output in planned:
        if found := differences(output):
            key = (os.path.dirname(output.sidecar), tuple(found))
            groups[key] = groups.get(key, 0) + 1
    if not groups:
        return
    shown = "; ".join(f"{folder}/ ({count} output{'s' * (count > 1)}): {', '.join(found)}"
                      for (folder, found), count in list(groups.items())[:SHOWN])
    more = f"; and {len(groups) - SHOWN} more folder(s)" if len(groups) > SHOWN else ""
    raise ConfigError(
        "results", f"{sum(groups.values())} finished output(s) in {results}/ were made from other inputs or "
        f"parameters, and this run would replace them: {shown}{more}",
        f"to keep them, give this run its own folder (e.g. --config results={results}-new, or `results:` in "
        f"your config file); to replace them, delete those outputs first")
