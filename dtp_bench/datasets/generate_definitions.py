"""Write `config/datasets/*.yaml` from the mirror's `MANIFEST.tsv` and `pairs/*.tsv`.

    python -m dtp_bench.datasets.generate_definitions --mirror ../shared/data --out config/datasets
    python -m dtp_bench.datasets.generate_definitions --mirror ../shared/data --out config/datasets --check

The mirror's manifest names, for every file, the upstream repository, the pinned commit, the path
there, the sha256 and (for the downscaled PhotoNAS copies) the original's size and sha256 prefix.
This script turns that into one definition per dataset, and also looks at the face images once to
list the ones that show the same picture under different bytes (`same_image`), so that seeded
pairing never pairs a face with itself. The generated files are committed; `--check` says whether
they are up to date.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import yaml
from PIL import Image

from dtp_core.images import load_image

RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
DTP_REPO = "sunwoo76/Deep_Translation_Prior"
# Normalised 32x32 grey thumbnails of the same picture differ by < 0.01 (re-encoded or resized
# copies); the closest two different faces of the mirror differ by 0.30.
SAME_IMAGE_THRESHOLD = 0.1
_DERIVED = re.compile(r"DERIVED: original (\S+) (\S+) \S+ (\d+) B sha256=([0-9a-f]{16})\.\.\.; (.*)$")
_SYMLINK = re.compile(r'git symlink with target text "([^"]+)"')


@dataclass(frozen=True)
class ManifestRow:
    repo: str
    commit: str
    path: str
    local: str
    bytes: int
    sha256: str
    licence: str
    note: str


def read_manifest(mirror: Path) -> dict[str, ManifestRow]:
    with open(mirror / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {row["local_path"]: ManifestRow(row["source_repo"], row["commit"], row["path_in_repo"], row["local_path"],
                                           int(row["bytes"]), row["sha256"], row["licence"], row["note"])
            for row in rows}


def read_pairs(mirror: Path, name: str) -> list[dict]:
    with open(mirror / "pairs" / f"{name}.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


class Builder:
    """Collects one definition's sources and files."""

    def __init__(self, manifest: dict[str, ManifestRow]):
        self.manifest = manifest
        self.sources: dict[str, dict] = {}
        self.files: dict[str, dict] = {}

    def source(self, name: str, repo: str, commit: str, licence: str = "") -> None:
        entry = {"repo": repo, "commit": commit}
        if licence:
            entry["licence"] = licence
        self.sources.setdefault(name, entry)

    def mirrored(self, file_id: str, source: str, local: str, path: str | None = None, note: str = "") -> str:
        """A file the mirror holds at `local`; upstream at `path` of `source` (default: the manifest's)."""
        row = self.manifest[local]
        upstream = self.sources[source]
        path = path or row.path
        target = _SYMLINK.search(row.note)
        url_path = target.group(1) if target else path   # a symlink is fetched from what it points to
        entry = {"source": source, "path": path,
                 "url": RAW_URL.format(repo=upstream["repo"], commit=upstream["commit"], path=url_path)}
        derived = _DERIVED.search(row.note)
        if derived:
            kind, size, count, prefix, how = derived.groups()
            entry.update(sha256=prefix, bytes=int(count), mirror=local, mirror_sha256=row.sha256,
                         mirror_bytes=row.bytes, mirror_note=f"downscaled from upstream's {kind} {size}: {how}")
        else:
            entry.update(sha256=row.sha256, bytes=row.bytes, mirror=local)
        notes = [n for n in (note, "" if derived else row.note) if n]
        if notes:
            entry["note"] = "; ".join(notes)
        self.files[file_id] = entry
        return file_id

    def unpinned(self, file_id: str, source: str, path: str, note: str) -> str:
        upstream = self.sources[source]
        self.files[file_id] = {"source": source, "path": path,
                               "url": RAW_URL.format(repo=upstream["repo"], commit=upstream["commit"], path=path),
                               "sha256": None, "note": note}
        return file_id


def _stem_id(prefix: str, path: str, strip: str = "") -> str:
    relative = path[len(strip):] if strip and path.startswith(strip) else path
    return f"{prefix}/{PurePosixPath(relative).with_suffix('').as_posix()}"


def photo_r(mirror: Path, manifest: dict[str, ManifestRow]) -> dict:
    build = Builder(manifest)
    dpst_row, nas_row = manifest["dpst/in/in1.png"], manifest["photonas/content/1.jpg"]
    build.source("dpst", dpst_row.repo, dpst_row.commit, dpst_row.licence)
    build.source("photonas", nas_row.repo, nas_row.commit, nas_row.licence)

    def dpst_file(local: str) -> str:
        return build.mirrored(_stem_id("dpst", manifest[local].path, "examples/"), "dpst", local)

    dpst_pairs = []
    for row in read_pairs(mirror, "dpst"):
        n = row["pair_id"]
        pair = {"id": f"dpst-{n}", "content": dpst_file(row["content"]), "style": dpst_file(row["style"]),
                "extras": {"content_seg": dpst_file(row["content_seg"]), "style_seg": dpst_file(row["style_seg"]),
                           "dpst_output": dpst_file(f"dpst/final_results/best{n}_t_1000.png")}}
        if "symlink" in row["note"]:   # the other notes say which images are identical: computed, not copied
            pair["note"] = row["note"]
        dpst_pairs.append(pair)

    def nas_file(local: str) -> str:
        path = local[len("photonas/"):]
        if local in manifest:
            return build.mirrored(_stem_id("photonas", path), "photonas", local)
        return build.unpinned(_stem_id("photonas", path), "photonas", path,
                              "not pinned: the mirror lacks it (its upstream blob is 4 MiB or more), so its pair "
                              "is dropped; to use it, fetch it upstream, check it and add its sha256 here")

    nas_pairs = [{"id": f"photonas-{row['pair_id']}", "content": nas_file(row["content"]), "style": nas_file(row["style"])}
                 for row in read_pairs(mirror, "photonas")]
    return {"name": "photo-r", "title": "Photo-R: Luan et al. DPST pairs 1-60 + An et al. PhotoNAS pairs 1-40",
            "description": "The paper's photorealistic benchmark. DPST pairs carry their segmentation masks and "
                           "DPST's own committed outputs (dpst_output) as extras.",
            "licence": "research / non-commercial use only", "sources": build.sources, "files": build.files,
            "subsets": {"dpst": dpst_pairs, "photonas": nas_pairs}}


def faces(mirror: Path, manifest: dict[str, ManifestRow], name: str, title: str, folder: str,
          fixed: list[tuple[str, str]], pairs: int, fixed_note=lambda stem: "") -> dict:
    """A face dataset: the DTP repository's own pairs (`fixed`: content/style stems) plus a pool."""
    build = Builder(manifest)
    pool = []
    for local, row in sorted(manifest.items()):
        if local.startswith(f"{folder}/") and "label map" not in row.note:
            source = local.split("/")[1]
            build.source(source, row.repo, row.commit, row.licence)
            pool.append(build.mirrored(_stem_id(source, local, f"{folder}/{source}/"), source, local))
    dtp_row = manifest[f"dtp/input/{fixed[0][0]}.png"]
    build.source("dtp", dtp_row.repo, dtp_row.commit, dtp_row.licence)
    dtp_pairs = []
    for content, style in fixed:
        pair = {"id": f"dtp-{content[len('in_'):]}",
                "content": build.mirrored(f"dtp/input/{content}", "dtp", f"dtp/input/{content}.png"),
                "style": build.mirrored(f"dtp/style/{style}", "dtp", f"dtp/style/{style}.png")}
        if fixed_note(content):
            pair["note"] = fixed_note(content)
        dtp_pairs.append(pair)
    fixed_ids = [f for pair in dtp_pairs for f in (pair["content"], pair["style"])]
    same = same_image_groups(mirror, {f: build.files[f]["mirror"] for f in pool + fixed_ids})
    return {"name": name, "title": title,
            "description": "The DTP repository's own face pairs (sub-set dtp) plus seeded pairs drawn from the "
                           "face images public repositories host (pool); see dtp_bench/datasets/pairing.py.",
            "licence": "research / non-commercial use only", "sources": build.sources, "files": build.files,
            "subsets": {"dtp": dtp_pairs},
            "pool": {"seed": 1006, "pairs": pairs, "files": pool, "same_image": same}}


def dtp_examples(mirror: Path, manifest: dict[str, ManifestRow]) -> dict:
    build = Builder(manifest)
    dtp_row = manifest["dtp/input/in_celeb_0.png"]
    build.source("dtp", dtp_row.repo, dtp_row.commit, dtp_row.licence)

    def example_file(path: str, local: str, same_blob: str) -> str:
        file_id = PurePosixPath(path.removeprefix("examples/")).with_suffix("").as_posix()
        if local.startswith("MISSING"):
            return build.unpinned(file_id, "dtp", path, f"not pinned: the mirror lacks it (same git blob as "
                                  f"{same_blob}, 4 MiB or more), so its pair is dropped")
        note = "" if same_blob == "-" else f"same git blob as {same_blob}; the mirror keeps it as {local}"
        return build.mirrored(file_id, "dtp", local, path=path, note=note)

    pairs = []
    for row in read_pairs(mirror, "dtp_examples"):
        content = example_file(row["dtp_content"], row["local_content"], row["content_same_blob_as"])
        style = example_file(row["dtp_style"], row["local_style"], row["style_same_blob_as"])
        pairs.append({"id": PurePosixPath(row["dtp_content"]).stem, "content": content, "style": style})
    return {"name": "dtp-examples", "title": "The 50 example pairs of the DTP repository, paired as its code pairs them",
            "description": "examples/input/* with examples/style/*, by sorted file name (the authors' pairing), for "
                           "side-by-side checks against their published figures.",
            "licence": "research / non-commercial use only", "sources": build.sources, "files": build.files,
            "subsets": {"examples": pairs}}


def same_image_groups(mirror: Path, files: dict[str, str]) -> list[list[str]]:
    """Groups of file ids whose pictures are the same (by normalised 32x32 grey thumbnails)."""
    ids = sorted(files)
    thumbs = np.stack([_thumbnail(mirror / files[f]) for f in ids])
    distance = np.abs(thumbs[:, None] - thumbs[None]).mean(axis=(2, 3))
    groups, grouped = [], set()
    for i, file_id in enumerate(ids):
        if file_id in grouped:
            continue
        group = [ids[j] for j in np.flatnonzero(distance[i] < SAME_IMAGE_THRESHOLD)]
        if len(group) > 1:
            groups.append(group)
            grouped.update(group)
    return groups


def _thumbnail(path: Path) -> np.ndarray:
    grey = Image.fromarray(load_image(path)).convert("L").resize((32, 32), Image.BILINEAR)
    values = np.asarray(grey, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1e-6)


def definitions(mirror: Path) -> dict[str, dict]:
    manifest = read_manifest(mirror)
    supp = [f"in_supp_{n}" for n in ("2", "3", "04", "05", "06")]
    supp_note = ("a supplementary-figure pair of the DTP repository, which does not name its dataset; "
                 "CelebA-HQ by look (in_supp_3 is the same picture as stargan-v2 src/female/172559)")
    return {
        "photo-r": photo_r(mirror, manifest),
        "celeba-hq": faces(mirror, manifest, "celeba-hq", "CelebA-HQ faces: the DTP repository's pairs + seeded pairs",
                           "celebahq", [(f"in_celeb_{i}", f"tar_celeb_{i}") for i in (0, 1)]
                           + [(s, s.replace("in_", "tar_")) for s in supp], pairs=50,
                           fixed_note=lambda stem: supp_note if stem in supp else ""),
        "ffhq": faces(mirror, manifest, "ffhq", "FFHQ faces: the DTP repository's pairs + seeded pairs", "ffhq",
                      [(f"in_ffhq_{i}", f"tar_ffhq_{i}") for i in (0, 1)], pairs=14),
        "dtp-examples": dtp_examples(mirror, manifest),
    }


def render(definition: dict) -> str:
    header = (f"# {definition['name']}: generated by dtp_bench/datasets/generate_definitions.py from the mirror's\n"
              "# MANIFEST.tsv and pairs/*.tsv; regenerate rather than edit. Images: research use only.\n")
    return header + yaml.safe_dump(definition, sort_keys=False, width=120, allow_unicode=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("config/datasets"))
    parser.add_argument("--check", action="store_true", help="only say whether the files in --out are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name, definition in definitions(args.mirror).items():
        path, text = args.out / f"{name}.yaml", render(definition)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}: {len(definition['files'])} files, "
              f"{sum(len(p) for p in definition['subsets'].values())} fixed pairs")
    if stale:
        print(f"out of date: {', '.join(stale)}; run without --check to regenerate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
