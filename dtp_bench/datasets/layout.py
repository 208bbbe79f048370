"""Where the datasets stage puts its files, relative to the working directory (the repository root).

    data/raw/<definition>/<file id><suffix>    fetched and checked, byte for byte what the source served
    data/resized/<size>/<image key>.png        the protocol's resize; image key = <definition>/<file id>
    data/pairs/<dataset>.tsv                   the pair list: the record of the plan the workflow runs
    data/pairs/<dataset>.json                  its summary: counts, dropped pairs, pairing rule, origin
"""

from __future__ import annotations

from pathlib import Path

DATA = Path("data")


def raw_path(definition: str, file_id: str, suffix: str, root: Path = DATA) -> Path:
    return root / "raw" / definition / f"{file_id}{suffix}"


def resized_path(size_token: str, image_key: str, root: Path = DATA) -> Path:
    return root / "resized" / size_token / f"{image_key}.png"


def pair_list_path(dataset: str, root: Path = DATA) -> Path:
    return root / "pairs" / f"{dataset}.tsv"


def summary_path(dataset: str, root: Path = DATA) -> Path:
    return root / "pairs" / f"{dataset}.json"
