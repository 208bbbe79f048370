"""The authors' released checkpoints: where they live, where they come from, how they are read.

One place for every checkpoint method (WCT, WCT2, Swapping AE, CoCosNet):

- **Where**: ``$DTP_WEIGHTS_DIR/<method>/<file>``, ``DTP_WEIGHTS_DIR`` defaulting to
  ``data/weights`` under the current folder (the project root when Snakemake runs). Every method's
  config also takes an explicit ``weights_dir``.
- **From where**: ``baselines/weights.yaml`` (package data, read through `importlib.resources`)
  names each file's upstream location (a direct URL, or a member of a published zip, or a folder
  to download by hand), with its size and sha256 where they are published.
  ``workflow/rules/weights.smk`` fetches them with `fetch` below, through the project's one
  downloader (`dtp_core.fetch`: retries, size and sha256 checks, temp file + rename).
- **How read**: ``torch.load(..., weights_only=True)`` only (`dtp_core.weights.read_state_dict`: no
  code runs while loading), and every tensor name and shape the network defines must be in the file
  (`load_into`; `load_networks` for one file per network).

A file that is absent raises `MethodUnavailable` ("unavailable: needs FILE from URL (how)"), which
the stylisation job records as an unavailable cell.
"""

from __future__ import annotations

import functools
import os
import shutil
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import yaml
from torch import nn

from dtp_core.atomic import atomic_path
from dtp_core.errors import FetchError, MethodUnavailable, WeightsFileError
from dtp_core.fetch import Expected, Fetched, Fixes, check
from dtp_core.fetch import fetch as download
from dtp_core.weights import read_state_dict, sha256_file

WEIGHTS_ENV = "DTP_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("data") / "weights"
# Package data, not a path beside a checkout: an installed copy (a wheel, site-packages) has no config/.
CATALOGUE = resources.files(__package__) / "weights.yaml"
CATALOGUE_NAME = "baselines/weights.yaml"  # how messages name it: the file a person edits in the project


@dataclass(frozen=True)
class WeightFile:
    """One released file, as `baselines/weights.yaml` describes it."""

    method: str
    name: str
    source: str               # the page a person would open (repository, drive folder, zip)
    url: str | None = None    # direct download of the file itself
    archive: str | None = None  # or: a zip that holds it ...
    member: str | None = None   # ... under this path (matched as a suffix)
    sha256: str | None = None
    bytes: int | None = None
    how: str = ""             # what a person does when there is no direct URL

    @property
    def fetchable(self) -> bool:
        return bool(self.url or self.archive)

    @property
    def expected(self) -> Expected:
        """What a fetched copy is checked against; unpinned where no sha256 is published (then the
        fetch log records the sha256 that came, to be pinned here)."""
        return Expected(self.sha256, self.bytes)


def weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(WEIGHTS_ENV) or DEFAULT_WEIGHTS_DIR)


@functools.lru_cache(maxsize=4)
def _read_catalogue(path: str | os.PathLike | resources.abc.Traversable) -> dict:
    # A Traversable's own read_text: package data may sit in a zip, where open() cannot reach it.
    source = Path(path) if isinstance(path, (str, os.PathLike)) else path
    return yaml.safe_load(source.read_text(encoding="utf-8")) or {}


def catalogue(method: str, path: str | os.PathLike | resources.abc.Traversable = CATALOGUE
              ) -> dict[str, WeightFile]:
    """File name -> `WeightFile` for one method (from `path`, the packaged catalogue by default)."""
    entry = _read_catalogue(path).get(method)
    if entry is None:
        raise KeyError(f"{path} has no entry for method {method!r}")
    files = {}
    for name, info in (entry.get("files") or {}).items():
        info = info or {}
        files[name] = WeightFile(method=method, name=name, source=info.get("source", entry.get("source", "")),
                                 url=info.get("url"), archive=info.get("archive", entry.get("archive")),
                                 member=info.get("member"), sha256=info.get("sha256"), bytes=info.get("bytes"),
                                 how=info.get("how", entry.get("how", "")))
    return files


def locate(method: str, names: list[str] | tuple[str, ...], directory: str | os.PathLike | None = None) -> dict[str, Path]:
    """The paths of `names` under ``<weights dir>/<method>/``; the first absent one raises
    `MethodUnavailable` naming it, its source and how to get it."""
    folder = weights_dir(directory) / method
    files = catalogue(method)
    found = {}
    for name in names:
        path = folder / name
        if not path.is_file():
            info = files.get(name)
            source = (info.url or info.archive or info.source) if info else "the authors' release"
            how = f"put it at {path} (or set {WEIGHTS_ENV} / weights_dir)"
            if info and info.fetchable:
                how = f"`snakemake -- weights_{method}` fetches it where the network allows, or {how}"
            elif info and info.how:
                how = f"{info.how}; {how}"
            raise MethodUnavailable(name, source, how)
        found[name] = path
    return found


def read_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A released checkpoint as a flat name -> tensor dict (a ``{"state_dict": ...}`` wrapper opened)."""
    return read_state_dict(path, "download the authors' file again; only plain tensor state dicts are accepted",
                           inner="state_dict")


def load_into(module: nn.Module, state: dict[str, torch.Tensor], source: str | os.PathLike, prefix: str = "") -> list[str]:
    """Copy ``state[prefix + name]`` into every tensor of `module`, checking names and shapes.

    Keys of the file that the module does not define (a discriminator, an optimiser's buffers) are
    ignored and returned, so the caller can record them.
    """
    expected = module.state_dict()
    missing = [key for key in expected if prefix + key not in state]
    wrong = [f"{key} {tuple(state[prefix + key].shape)} != {tuple(value.shape)}" for key, value in expected.items()
             if prefix + key in state and state[prefix + key].shape != value.shape]
    if missing or wrong:
        raise WeightsFileError(source, f"does not match {type(module).__name__} ({len(missing)} missing, e.g. "
                               f"{[prefix + k for k in missing[:3]]}; {len(wrong)} of the wrong shape, e.g. {wrong[:2]})",
                               "pass the authors' released file for this model and option set")
    module.load_state_dict({key: state[prefix + key].to(value.dtype) for key, value in expected.items()})
    own = {prefix + key for key in expected}
    return sorted(key for key in state if key.startswith(prefix) and key not in own)


def load_networks(paths: dict[str, Path], networks: dict[str, nn.Module]) -> tuple[nn.Module, ...]:
    """Load the file ``paths[name]`` into each ``networks[name]`` (`load_into`); the networks, in order."""
    for name, module in networks.items():
        load_into(module, read_checkpoint(paths[name]), paths[name])
    return tuple(networks.values())


def record(paths: dict[str, Path]) -> dict:
    """The sidecar facts for the checkpoint files a run used."""
    return {"checkpoints": {name: {"file": str(path), "sha256": sha256_file(path)} for name, path in paths.items()}}


# -- fetching (used by workflow/rules/weights.smk on a connected machine) ---------------------------

def _fixes(method: str, source: str, target: Path) -> Fixes:
    by_hand = f"put it at {target} by hand (from {source})"
    return Fixes(
        unreachable=f"check the connection, then run `snakemake -- weights_{method}` again, or {by_hand}",
        mismatch=(f"the host does not serve the file {CATALOGUE_NAME} pins: {by_hand}, or, if the authors "
                  f"changed it on purpose, update its sha256 and bytes in {CATALOGUE_NAME}"),
        missing=f"the file is not there: check its url or archive in {CATALOGUE_NAME}, or {by_hand}",
        absent=f"check its url or archive in {CATALOGUE_NAME}, or {by_hand}",
    )


def archive_of(method: str) -> str | None:
    """The zip URL a method's files come out of (None when they are direct downloads)."""
    urls = {info.archive for info in catalogue(method).values() if info.archive and not info.url}
    if len(urls) > 1:
        raise ValueError(f"{method}: one archive per method is supported, {CATALOGUE_NAME} names {sorted(urls)}")
    return urls.pop() if urls else None


def fetch_archive(url: str, target: str | os.PathLike, method: str, **options) -> Fetched:
    """Download a method's zip to `target` (`dtp_core.fetch.fetch`; `options` are its own). The zip is
    not pinned: the files taken out of it are checked, where baselines/weights.yaml pins them."""
    return download(url, target, Expected(None), fixes=_fixes(method, url, Path(target)), **options)


def fetch(info: WeightFile, target: str | os.PathLike, archive: str | os.PathLike | None = None,
          **options) -> Fetched:
    """Download one file (directly, or out of its zip at `archive`, downloaded there first if
    absent), check its size and sha256, and only then rename it into place: a killed or corrupt
    download leaves nothing at `target`. `options` go to `dtp_core.fetch.fetch` (attempts, ...)."""
    target = Path(target)
    if not info.fetchable:
        raise MethodUnavailable(info.name, info.source, info.how or "download it by hand")
    fixes = _fixes(info.method, info.url or info.archive, target)
    if info.url:
        return download(info.url, target, info.expected, fixes=fixes, **options)
    archive = Path(archive or target.parent / "archive.zip")
    if not archive.is_file():
        fetch_archive(info.archive, archive, info.method, **options)
    return _extract(archive, info.member or info.name, target, info.expected, fixes)


def _extract(archive: Path, member: str, target: Path, pinned: Expected, fixes: Fixes) -> Fetched:
    with zipfile.ZipFile(archive) as bundle:
        matches = [name for name in bundle.namelist() if name == member or name.endswith("/" + member)]
        if len(matches) != 1:
            raise WeightsFileError(archive, f"holds {len(matches)} entries named like {member!r}",
                                   f"check {CATALOGUE_NAME}'s member for this file")
        source = f"{archive}:{matches[0]}"
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as out, bundle.open(matches[0]) as src:
                shutil.copyfileobj(src, out, length=1 << 20)
            sha256, size = sha256_file(tmp), tmp.stat().st_size
            check(source, sha256, size, pinned, target, fixes)
    return Fetched(url=source, destination=target, sha256=sha256, bytes=size, attempts=1)


def _log(fetched: Fetched, note: str = "") -> str:
    """What the fetch log records: the file, the sha256 and size that came, from where."""
    return (f"{fetched.destination}: {fetched.sha256} ({fetched.bytes} bytes from {fetched.url}, "
            f"{fetched.attempts} attempt(s)){note}")


def main(argv: list[str] | None = None) -> int:
    """``python -m baselines.checkpoints METHOD [NAME] [--dir DIR] [--archive ZIP]``: fetch one file
    (out of ZIP when the method's files come in one), or, without NAME, only the method's ZIP."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("method")
    parser.add_argument("name", nargs="?")
    parser.add_argument("--dir", help=f"weights folder (default ${WEIGHTS_ENV} or {DEFAULT_WEIGHTS_DIR})")
    parser.add_argument("--archive", help="the method's zip: read from here, downloaded here if absent")
    args = parser.parse_args(argv)
    try:
        if args.name is None:
            if not args.archive:
                parser.error("give NAME, or --archive ZIP to download only the zip")
            url = archive_of(args.method)
            if url is None:
                raise ValueError("its files are direct downloads, there is no archive")
            line = _log(fetch_archive(url, args.archive, args.method),
                        f"; the zip is not pinned: each file taken out of it is checked where {CATALOGUE_NAME} pins it")
        else:
            info = catalogue(args.method).get(args.name)
            if info is None:
                print(f"{CATALOGUE_NAME} lists no {args.name!r} for {args.method}", file=sys.stderr)
                return 2
            fetched = fetch(info, weights_dir(args.dir) / args.method / args.name, archive=args.archive)
            line = _log(fetched, "" if info.sha256 else (
                f"\nnot pinned: {CATALOGUE_NAME} gives no sha256 for {args.method}/{args.name}; this is the "
                f"file that was downloaded (add sha256: {fetched.sha256} and bytes: {fetched.bytes} there to pin it)"))
    except (MethodUnavailable, WeightsFileError, FetchError, ValueError, OSError) as err:
        print(f"{args.method}/{args.name or 'archive'}: {err}", file=sys.stderr)
        return 1
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
