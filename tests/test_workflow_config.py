"""The workflow's config schema: as strict as the code, and naming exactly the registered methods."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from dtp_bench.method_labels import BUILT_IN
from dtp_bench.methods import METHODS
from workflow_sandbox import REPO, make_workdir, run_snakemake

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")


def _config(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def test_method_enum_is_the_registry():
    # this repository's methods; installed plugins (dtp_bench/plugins.py) are added at parse time
    built_in = [name for name in METHODS if name in BUILT_IN]
    assert built_in == list(BUILT_IN)
    schema = yaml.safe_load(open(SCHEMA))
    assert schema["properties"]["methods"]["propertyNames"]["enum"] == built_in
    assert schema["properties"]["delivery"]["properties"]["methods"]["items"]["enum"] == built_in


def test_paper_config_runs_every_registered_method_and_validates():
    config = _config("config.yaml")
    validate(config, SCHEMA)
    assert set(config["methods"]) == set(METHODS)
    assert config["datasets"]["sizes"] == ["256x256"] and config["methods"]["dtp_lc1_5"] == {}


def test_quick_config_validates_on_top_of_the_paper_config():
    config = _config("config.yaml")
    update_config(config, _config("quick.yaml"))
    validate(config, SCHEMA)
    assert config["datasets"]["mirror"] == "../shared/data"
    # its outputs never share a path with the paper protocol's (results/outputs/..., results/table1.csv)
    assert (config["results"], _config("config.yaml")["results"]) == ("results/quick", "results")


@pytest.mark.parametrize("change, message", [
    ({"methods": {"dtp_turbo": {}}}, "dtp_turbo"),
    ({"methods": {"gatys": {"parmas": {}}}}, "parmas"),
    ({"device": "gpu"}, "gpu"),
    ({"batch_pairs": 0}, "batch_pairs"),
    ({"no_such_key": 1}, "no_such_key"),
    ({"results": "data/results"}, "results"),  # data/ holds pinned inputs only
    ({"results": ""}, "results"),
])
def test_bad_values_are_refused_naming_them(change, message):
    config = copy.deepcopy(_config("config.yaml"))
    config.update(change)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


def test_an_empty_datasets_list_turns_a_method_off(tmp_path):
    # config files overlay each other, so the quick config turns swapping_ae off with `datasets: []`
    assert _config("quick.yaml")["methods"]["swapping_ae"] == {"datasets": []}
    make_workdir(tmp_path, REPO.parent / "shared" / "data", {})
    proc = run_snakemake(tmp_path, "--dry-run", "--cores", "1", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = proc.stdout + proc.stderr
    assert "method=gatys" in plan and "method=dtp_lc1_5" in plan
    assert "method=swapping_ae" not in plan
