"""The config schema's `datasets:` section says exactly what dtp_bench.datasets.settings reads: the
same keys, the same defaults, and every dataset name the definitions offer."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest
import yaml

from conftest import REPO
from dtp_bench.datasets.definitions import load_definitions
from dtp_bench.datasets.plan import dataset_names
from dtp_bench.datasets.settings import DatasetsSettings, FetchSettings, PairingSettings

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
CONFIG = REPO / "config" / "config.yaml"


@pytest.fixture(scope="module")
def section():
    if not SCHEMA.is_file():
        pytest.skip("workflow/schemas/config.schema.yaml is not there yet")
    return yaml.safe_load(SCHEMA.read_text())["properties"]["datasets"]


def _fields(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def test_schema_keys_are_the_settings_fields(section):
    assert section["additionalProperties"] is False
    assert set(section["properties"]) == {f.name for f in dataclasses.fields(DatasetsSettings)}
    assert set(section["properties"]["fetch"]["properties"]) == {f.name for f in dataclasses.fields(FetchSettings)}
    entry = section["properties"]["pairing"]["additionalProperties"]
    assert set(entry["properties"]) == {f.name for f in dataclasses.fields(PairingSettings)}


def test_schema_defaults_are_the_settings_defaults(section):
    defaults = DatasetsSettings.from_config(None).to_dict()
    for key in ("names", "definitions", "mirror", "sizes", "limit"):
        assert section["properties"][key]["default"] == defaults[key], key
    fetch = section["properties"]["fetch"]["properties"]
    assert {key: fetch[key]["default"] for key in fetch} == _fields(FetchSettings)


def test_schema_names_every_dataset_and_pool(section):
    definitions = load_definitions(REPO / "config" / "datasets")
    assert sorted(section["properties"]["names"]["items"]["enum"]) == sorted(dataset_names(definitions))
    pools = sorted(name for name, d in definitions.items() if d.pool is not None)
    assert sorted(section["properties"]["pairing"]["propertyNames"]["enum"]) == pools


def test_the_configs_datasets_block_is_valid_and_the_papers_protocol(section):
    block = yaml.safe_load(CONFIG.read_text())["datasets"]
    jsonschema.validate(block, section)
    settings = DatasetsSettings.from_config({"datasets": block})
    assert settings.sizes == ("256x256",) and settings.mirror is None
    assert {name: (p.seed, p.pairs) for name, p in settings.pairing.items()} == {"celeba-hq": (1006, 50),
                                                                                 "ffhq": (1006, 14)}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**block, "mirrors": "x"}, section)
