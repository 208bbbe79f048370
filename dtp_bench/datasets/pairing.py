"""Seeded content/style pairs for the face datasets, by a rule anyone can re-derive by hand.

The rule (stated in every pair list's summary):

1. Rank the candidate images by `sha256("<seed>:<image id>")` (hex, ascending). The rank depends
   on nothing but the seed and the image's name, so it is the same on every machine and Python.
2. Walk the ranking and take an image unless it, or a duplicate of it (same bytes, or listed as
   the same image in the definition), is already taken; the fixed (DTP) pairs' images are taken
   from the start.
3. Taken images, in order, form the pairs (1st, 2nd), (3rd, 4th), ...: content, then style.

So no image is paired with itself or with a duplicate of itself, and each distinct image is used
at most once in the whole dataset.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

from dtp_core.errors import ConfigError

RULE = ("rank the candidates by sha256('<seed>:<image id>') ascending; walk the ranking, skipping an image "
        "when it or a duplicate of it (same sha256, or listed as the same image) is already used, the fixed "
        "pairs' images being used from the start; pair the kept images in order as (content, style)")


def rank_key(seed: int, image_id: str) -> str:
    return hashlib.sha256(f"{seed}:{image_id}".encode()).hexdigest()


def seeded_pairs(candidates: Sequence[str], *, seed: int, count: int, identity: Callable[[str], str],
                 taken: Iterable[str] = (), dataset: str = "") -> list[tuple[str, str]]:
    """`count` (content, style) pairs of distinct images from `candidates`.

    `identity(image_id)` returns a key shared by duplicates (it may be costly, e.g. hashing a file:
    it is called only for images the walk reaches). `taken` holds the identities already used.
    """
    if count <= 0:
        return []
    used = set(taken)
    chosen: list[str] = []
    for image_id in sorted(candidates, key=lambda image: rank_key(seed, image)):
        key = identity(image_id)
        if key in used:
            continue
        used.add(key)
        chosen.append(image_id)
        if len(chosen) == 2 * count:
            return list(zip(chosen[0::2], chosen[1::2]))
    raise ConfigError(f"datasets.pairing.{dataset}.pairs" if dataset else "pairs",
                      f"asks for {count} seeded pairs but the {len(candidates)} candidates give only "
                      f"{len(chosen) // 2} pairs of distinct unused images",
                      "ask for fewer pairs, or point datasets.pairing.<dataset>.folder at more images")
