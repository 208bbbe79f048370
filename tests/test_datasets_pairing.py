"""The seeded face-pair rule: reproducible, never an image with itself or a duplicate of itself, each
distinct image at most once, the DTP repository's own pairs included; also from a user's folder."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, shared
from dtp_bench.datasets.definitions import load_definitions
from dtp_bench.datasets.pairing import rank_key, seeded_pairs
from dtp_bench.datasets.plan import plan_dataset
from dtp_bench.datasets.settings import DatasetsSettings
from dtp_core.errors import ConfigError

DEFINITIONS = str(REPO / "config" / "datasets")


@pytest.fixture(scope="module")
def definitions():
    return load_definitions(DEFINITIONS)


def _settings(**values) -> DatasetsSettings:
    return DatasetsSettings.from_config({"datasets": {"definitions": DEFINITIONS, **values}})


def test_rank_is_sha256_of_seed_and_name():
    assert rank_key(1006, "sean/28179") == hashlib.sha256(b"1006:sean/28179").hexdigest()


def test_same_seed_same_pairs_other_seed_other_pairs():
    names = [f"face{i:03d}" for i in range(40)]
    first = seeded_pairs(names, seed=7, count=10, identity=str)
    assert seeded_pairs(list(reversed(names)), seed=7, count=10, identity=str) == first   # input order is irrelevant
    assert seeded_pairs(names, seed=8, count=10, identity=str) != first
    assert seeded_pairs(names, seed=7, count=6, identity=str) == first[:6]   # fewer pairs: a prefix


def test_no_self_or_duplicate_pairs_and_each_image_once():
    names = [f"f{i}" for i in range(30)]
    identity = {name: f"img{int(name[1:]) // 3}" for name in names}.__getitem__   # three copies of each picture
    pairs = seeded_pairs(names, seed=1006, count=4, identity=identity, taken={"img0"})   # 9 pictures left
    used = [identity(image) for pair in pairs for image in pair]
    assert len(pairs) == 4 and len(set(used)) == 8 and "img0" not in used


def test_asking_for_more_pairs_than_distinct_images_is_a_config_error():
    with pytest.raises(ConfigError, match=r"datasets\.pairing\.ffhq\.pairs.*only 2 pairs"):
        seeded_pairs([f"f{i}" for i in range(5)], seed=1, count=3, identity=str, dataset="ffhq")


def _identities(definitions, name):
    """Every used image's picture identity: equal for files listed as the same image or with equal bytes."""
    definition = definitions[name]
    groups = {f: {f} for f in definition.files}
    for group in definition.pool.same_image:
        for f in group:
            groups[f] = set(group)
    return lambda key: min(definition.files[f].sha256 for f in groups[key.split("/", 1)[1]])


@pytest.mark.parametrize("name, fixed, total, candidates", [("celeba-hq", 7, 50, 108), ("ffhq", 2, 14, 25)])
def test_default_face_datasets(definitions, name, fixed, total, candidates):
    plan = plan_dataset(name, _settings(), definitions)
    assert len(plan.pairs) == total and sum(p.subset == "dtp" for p in plan.pairs) == fixed
    assert plan.pairing["seed"] == 1006 and plan.pairing["candidates"] == candidates
    identity = _identities(definitions, name)
    used = [identity(image.key) for pair in plan.pairs for image in (pair.content, pair.style)]
    assert len(set(used)) == 2 * total   # no face twice, none with itself, none with its own duplicate
    assert plan_dataset(name, _settings(), definitions).pairs == plan.pairs   # reproducible


def test_celeba_hq_known_duplicates_never_meet(definitions):
    keys = {image.key for pair in plan_dataset("celeba-hq", _settings(), definitions).pairs
            for image in (pair.content, pair.style)}
    assert "celeba-hq/stargan-v2/src/female/172559" not in keys   # the same picture as the DTP pair in_supp_3
    assert not {"celeba-hq/sean/28179", "celeba-hq/stargan-v2/ref/female/074075"} <= keys


def test_seed_and_count_come_from_the_config(definitions):
    plan = plan_dataset("ffhq", _settings(pairing={"ffhq": {"seed": 5, "pairs": 6}}), definitions)
    assert len(plan.pairs) == 6 and plan.pairing["seed"] == 5
    assert [p.id for p in plan.pairs] != [p.id for p in plan_dataset("ffhq", _settings(), definitions).pairs][:6]
    with pytest.raises(ConfigError, match="fewer than the 2 fixed pairs"):
        plan_dataset("ffhq", _settings(pairing={"ffhq": {"pairs": 1}}), definitions)
    with pytest.raises(ConfigError, match="only 12 pairs"):
        plan_dataset("ffhq", _settings(pairing={"ffhq": {"pairs": 15}}), definitions)


def test_seeded_and_dtp_subsets_on_their_own(definitions):
    full = plan_dataset("ffhq", _settings(), definitions).pairs
    assert plan_dataset("ffhq-dtp", _settings(), definitions).pairs == full[:2]
    assert plan_dataset("ffhq-seeded", _settings(), definitions).pairs == full[2:]


def test_pairs_from_a_users_own_folder(definitions, tmp_path):
    shared("ffhq/daps/00000.png")
    folder = tmp_path / "my-ffhq"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i:05d}.png")
    shutil.copy(folder / "00000.png", folder / "sub" / "copy-of-00000.png")   # same bytes, another name
    shutil.copy(shared("dtp/input/in_ffhq_0.png"), folder / "in_ffhq_0.png")   # the same as a fixed pair's content
    settings = _settings(pairing={"ffhq": {"folder": str(folder), "pairs": 4}})
    plan = plan_dataset("ffhq", settings, definitions)
    seeded = [p for p in plan.pairs if p.subset == "seeded"]
    assert len(plan.pairs) == 4 and len(seeded) == 2
    used = {image.raw.read_bytes() for pair in seeded for image in (pair.content, pair.style)}
    assert len(used) == 4 and shared("dtp/input/in_ffhq_0.png").read_bytes() not in used
    assert all(image.key.startswith("ffhq/folder/") and image.location is None
               for pair in seeded for image in (pair.content, pair.style))
    assert plan.pairing["from"] == str(folder)
    with pytest.raises(ConfigError, match="only 2 pairs"):   # 7 files, 5 distinct unused pictures
        plan_dataset("ffhq", _settings(pairing={"ffhq": {"folder": str(folder), "pairs": 5}}), definitions)
