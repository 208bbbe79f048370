"""The committed dataset definitions: every file pinned upstream at a commit with its sha256, up to
date with the mirror's manifest, and malformed definitions rejected with the file and key named."""

from __future__ import annotations

import re

import pytest

from conftest import REPO, SHARED_DATA, shared
from dtp_bench.datasets import generate_definitions
from dtp_bench.datasets.definitions import load_definition, load_definitions
from dtp_core.errors import ConfigError

DEFINITIONS = REPO / "config" / "datasets"


@pytest.fixture(scope="module")
def definitions():
    return load_definitions(DEFINITIONS)


def test_the_four_datasets_and_their_subsets(definitions):
    assert sorted(definitions) == ["celeba-hq", "dtp-examples", "ffhq", "photo-r"]
    assert {name: {s: len(p) for s, p in d.subsets.items()} for name, d in definitions.items()} == {
        "photo-r": {"dpst": 60, "photonas": 40}, "celeba-hq": {"dtp": 7}, "ffhq": {"dtp": 2},
        "dtp-examples": {"examples": 50}}
    assert (definitions["celeba-hq"].pool.pairs, definitions["ffhq"].pool.pairs) == (50, 14)


def test_every_file_names_its_upstream_pinned_at_a_commit(definitions):
    for definition in definitions.values():
        for file in definition.files.values():
            assert re.fullmatch(r"[0-9a-f]{40}", file.source.commit), file.id
            assert file.url.startswith(f"https://raw.githubusercontent.com/{file.source.repo}/{file.source.commit}/")
            assert file.pinned == (file.mirror is not None), file.id


def test_only_the_files_the_mirror_lacks_are_unpinned(definitions):
    unpinned = {name: sorted(f.id for f in d.files.values() if not f.pinned) for name, d in definitions.items()}
    assert unpinned == {"photo-r": ["photonas/content/26", "photonas/style/19"], "celeba-hq": [], "ffhq": [],
                        "dtp-examples": ["input/in02", "input/in_nas_26"]}


def test_the_symlinked_dpst_style_is_fetched_from_its_target(definitions):
    tar23 = definitions["photo-r"].files["dpst/style/tar23"]
    assert tar23.path == "examples/style/tar23.png" and tar23.url.endswith("/examples/input/in23.png")


def test_definitions_are_up_to_date_with_the_mirror(capsys):
    shared("MANIFEST.tsv")
    assert generate_definitions.main(["--mirror", str(SHARED_DATA), "--out", str(DEFINITIONS), "--check"]) == 0


GOOD_FILE = """
name: {name}
title: t
sources: {{s: {{repo: o/r, commit: '{commit}'}}}}
files:
  a: {{source: s, path: a.png, url: 'https://raw.githubusercontent.com/o/r/{commit}/a.png', sha256: '{sha}'}}
subsets: {{x: [{{id: p1, content: a, style: a}}]}}
"""
COMMIT = "0" * 40


@pytest.mark.parametrize("change, message", [
    ({"sha": "abc"}, r"files\.a\.sha256.*not a lower-case sha256"),
    ({"sha": "a" * 16}, r"files\.a\.sha256.*prefix.*bytes"),
    ({"name": "other"}, r"name.*rename"),
])
def test_malformed_definitions_name_the_file_and_key(tmp_path, change, message):
    values = {"name": "tiny", "commit": COMMIT, "sha": "a" * 64, **change}
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD_FILE.format(**values))
    with pytest.raises(ConfigError, match=rf"tiny\.yaml.*{message}"):
        load_definition(path)


def test_references_to_unknown_files_and_unknown_keys_are_rejected(tmp_path):
    path = tmp_path / "tiny.yaml"
    text = GOOD_FILE.format(name="tiny", commit=COMMIT, sha="a" * 64)
    load_definition(_write(path, text))
    with pytest.raises(ConfigError, match=r"subsets\.x\[0\]\.style.*'b'"):
        load_definition(_write(path, text.replace("style: a", "style: b")))
    with pytest.raises(ConfigError, match=r"files\.a.*unknown keys \['colour'\]"):
        load_definition(_write(path, text.replace("sha256:", "colour: red, sha256:")))
    with pytest.raises(ConfigError, match=r"files\.a\.url.*pinned at commit"):
        load_definition(_write(path, text.replace(f"/{COMMIT}/a.png", "/main/a.png")))
    with pytest.raises(ConfigError, match=r"files\.a\.path.*plain relative path"):
        load_definition(_write(path, text.replace("path: a.png", "path: ../a.png")))


def _write(path, text):
    path.write_text(text)
    return path
