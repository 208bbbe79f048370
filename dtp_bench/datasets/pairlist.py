"""`data/pairs/<dataset>.tsv` and its `.json` summary: the record of a dataset's pairs.

The workflow plans its jobs from the same `DatasetPlan` the list is written from (at parse time, so
the DAG is known before anything is fetched) and does not read the list back: each stylize job takes
it as an input, so that no stylize job runs until the list was written from files that match
their pins.

One row per usable pair:

    pair_id   subset    content / style          image keys: the resized image is
                                                 data/resized/<size>/<key>.png
    content_sha256 / style_sha256                sha256 of the file that was resized
    content_file / style_file                    that file (data/raw/..., or a user's own file)
    content_source / style_source                upstream repository@commit:path (or folder:<path>)
    <extra>_file                                 per-pair extras (DPST masks, DPST's own outputs)
    note                                         duplicates, mirror copies that are not byte copies, ...

The summary says how many pairs the dataset defines and really has, which pairs were dropped
and why, where the files came from, and the seeded-pair rule as applied.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dtp_core.atomic import write_json, write_text
from dtp_core.errors import ConfigError, FetchError
from dtp_core.fetch import verify_fetched
from dtp_core.weights import sha256_file

from . import layout
from .plan import DatasetPlan, Image

BASE_COLUMNS = ("pair_id", "subset", "content", "style", "content_sha256", "style_sha256", "content_file",
                "style_file", "content_source", "style_source")


@dataclass(frozen=True)
class PairRow:
    """One row of a pair list, as `read_pair_list` reads it back."""
    pair_id: str
    subset: str
    content: str
    style: str
    content_sha256: str
    style_sha256: str
    content_file: str
    style_file: str
    content_source: str
    style_source: str
    extras: dict[str, str]
    note: str

    def resized(self, role: str, size_token: str, root: Path = layout.DATA) -> Path:
        """The resized image of `role` ("content" or "style") at size `size_token` (e.g. "256x256")."""
        return layout.resized_path(size_token, {"content": self.content, "style": self.style}[role], root)


def build_rows(plan: DatasetPlan) -> list[dict[str, str]]:
    """The pair list's rows, each file's bytes checked against what was pinned."""
    digest = _Digests()
    extra_names = _extra_names(plan)
    rows, notes = [], []
    for pair in plan.pairs:
        row = {"pair_id": pair.id, "subset": pair.subset, "content": pair.content.key, "style": pair.style.key}
        row_notes = [pair.note] if pair.note else []
        for role, image in (("content", pair.content), ("style", pair.style)):
            row.update({f"{role}_sha256": digest(image), f"{role}_file": str(image.raw), f"{role}_source": image.source})
            if image.note:
                row_notes.append(f"{role}: {image.note}")
        extras = dict(pair.extras)
        for name in extra_names:
            row[f"{name}_file"] = str(digest.checked(extras[name])) if name in extras else ""
        rows.append(row)
        notes.append(row_notes)
    digest.raise_changed()
    places: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        for role in ("content", "style"):
            places.setdefault(row[f"{role}_sha256"], []).append((row["pair_id"], role))
    for row, row_notes in zip(rows, notes):
        for role in ("content", "style"):
            others = [(pair_id, r) for pair_id, r in places[row[f"{role}_sha256"]]
                      if pair_id != row["pair_id"] or (role == "style" and r == "content")]
            if others:   # kept as the benchmark has them, but said
                where = ", ".join(r if pair_id == row["pair_id"] else f"{pair_id} {r}" for pair_id, r in others)
                row_notes.append(f"{role} identical to {where}")
        row["note"] = "; ".join(row_notes)
    return rows


def write_pair_list(plan: DatasetPlan, tsv: str | Path, summary: str | Path,
                    report: Callable[[str], None] = print) -> list[dict[str, str]]:
    rows = build_rows(plan)
    columns = [*BASE_COLUMNS, *(f"{name}_file" for name in _extra_names(plan)), "note"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if plan.dropped:
        listed = ", ".join(f"{d.pair_id} ({'; '.join(d.missing)})" for d in plan.dropped)
        report(f"WARNING: {plan.name}: {len(plan.dropped)} of {plan.defined} pairs dropped, no pinned copy of "
               f"their files (the mirror lacks them): {listed}")
    write_json(summary, {
        "dataset": plan.name, "definition": str(plan.definition.path), "title": plan.definition.title,
        "licence": plan.definition.licence, "origin": plan.origin, "pairs": len(rows), "pairs_defined": plan.defined,
        "dropped": [{"pair_id": d.pair_id, "missing": list(d.missing)} for d in plan.dropped],
        "limit": plan.limit, "pairing": plan.pairing, "columns": columns,
        "images": len({row[k] for row in rows for k in ("content_sha256", "style_sha256")}),
    })
    write_text(tsv, text.getvalue())   # last: the pair list marks the stage finished
    report(f"{plan.name}: {len(rows)} pairs ({plan.defined} defined, {len(plan.dropped)} dropped) -> {tsv}")
    return rows


def read_pair_list(path: str | Path) -> list[PairRow]:
    """The pairs of `data/pairs/<dataset>.tsv`, for the stages after this one."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            records = list(csv.DictReader(handle, delimiter="\t"))
    except FileNotFoundError:
        raise ConfigError(str(path), "does not exist", "build it first: snakemake --cores 2 datasets") from None
    missing = [c for c in (*BASE_COLUMNS, "note") if records and c not in records[0]]
    if missing:
        raise ConfigError(str(path), f"lacks the columns {missing}", "rebuild it (delete it and run the workflow)")
    return [PairRow(**{c: r[c] for c in (*BASE_COLUMNS, "note")},
                    extras={k[:-len("_file")]: v for k, v in r.items() if k.endswith("_file")
                            and k not in ("content_file", "style_file") and v})
            for r in records]


class _Digests:
    """sha256 of each file once, checked against the pin of the source it was fetched from. Files that
    are missing or changed since the fetch are collected, so that one error names all of them
    (`raise_changed`)."""

    def __init__(self):
        self.cache: dict[Path, str] = {}
        self.changed: list[FetchError] = []

    def __call__(self, image: Image) -> str:
        if image.raw not in self.cache:
            if image.location is not None:
                try:
                    self.cache[image.raw] = verify_fetched(image.raw, image.location.expected)
                except FetchError as err:
                    self.changed.append(err)
                    self.cache[image.raw] = ""
            elif image.raw.is_file():
                self.cache[image.raw] = sha256_file(image.raw)
            else:
                raise FetchError(image.raw, "is missing", "check the folder the config names")
        return self.cache[image.raw]

    def raise_changed(self) -> None:
        if len(self.changed) == 1:
            raise self.changed[0]
        if self.changed:
            listed = "\n".join(f"  {err}" for err in self.changed)
            raise FetchError(f"{len(self.changed)} fetched files", f"are missing or changed since the fetch:\n{listed}",
                             "delete each file named above and run again")

    def checked(self, image: Image) -> Path:
        self(image)
        return image.raw


def _extra_names(plan: DatasetPlan) -> list[str]:
    return list(dict.fromkeys(name for pair in plan.pairs for name, _ in pair.extras))
