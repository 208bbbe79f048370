"""The workflow's parse-time config check (dtp_bench/config_check.py): every bad value refused before a
job starts, naming its key path and the fix; `--config` strings read as their types. Most cases on
dicts; a few as real `snakemake --dry-run`s in a sandbox."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import pytest
import yaml
from snakemake.utils import update_config

from baselines.wct import WCTConfig
from conftest import shared
from dtp_bench import config_check, methods, stylize_job
from dtp_core.config import DTPConfig
from dtp_core.errors import ConfigError
from workflow_sandbox import REPO, make_workdir, run_snakemake

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


@pytest.fixture(scope="module")
def quick_config() -> dict:
    """config.yaml + quick.yaml as the workflow reads them (the quick mirror is ../shared/data)."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config/quick.yaml").read_text()))
    return config


@pytest.fixture
def config(quick_config, monkeypatch):
    monkeypatch.chdir(REPO)  # relative paths (definitions, the mirror) start at the working directory
    changed = copy.deepcopy(quick_config)
    changed["datasets"]["mirror"] = None
    return changed


def _refusal(config: dict) -> str:
    with pytest.raises(ConfigError) as err:
        config_check.check_config(config)
    return str(err.value)


# --- the config files as they are --------------------------------------------------------------------
@pytest.mark.parametrize("files", [["config.yaml"], ["config.yaml", "quick.yaml"], ["config.yaml", "pilot.yaml"]])
def test_the_shipped_configs_pass_unchanged(files, monkeypatch):
    monkeypatch.chdir(REPO)
    if not (REPO / "../shared/data").is_dir() and len(files) > 1:
        pytest.skip(f"{files[1]}'s mirror ../shared/data is not beside the checkout")
    config = {}
    for name in files:
        update_config(config, yaml.safe_load((REPO / "config" / name).read_text()))
    assert config_check.check_config(config) == config


# --- dataset names --------------------------------------------------------------------------------------
@pytest.mark.parametrize("where, change, said", [
    ("benchmark_datasets", lambda c: c.update(benchmark_datasets=["photo-r", "celba-hq"]), "celba-hq"),
    ("datasets.names", lambda c: c["datasets"].update(names=["photo-r", "celba-hq"]), "celba-hq"),
    ("methods.wct.datasets", lambda c: c["methods"].update(wct={"datasets": ["fhq"]}), "fhq"),
    ("report.table1_datasets.FFHQ", lambda c: c.update(report={"table1_datasets": {"FFHQ": ["fhq"]}}), "fhq"),
    ("report.figures.face_datasets", lambda c: c.update(report={"figures": {"face_datasets": ["fhq"]}}), "fhq"),
    ("report.figures.photo_pairs",
     lambda c: c.update(report={"figures": {"photo_pairs": ["photo-r/dpst-1", "photor/dpst-2"]}}), "photor"),
    ("report.figures.loss_curve.pair",
     lambda c: c.update(report={"figures": {"loss_curve": {"method": "dtp_lc1_5", "pair": "fhq/x"}}}), "fhq"),
])
def test_an_unknown_dataset_anywhere_is_refused_with_the_closest_name(config, where, change, said):
    change(config)
    message = _refusal(config)
    assert message.startswith(f"{where}: unknown dataset {said!r}")
    assert "did you mean" in message and "Known: celeba-hq, " in message and "Fix: " in message


def test_the_issues_typo_reads_as_it_should(config):
    config["benchmark_datasets"] = ["photo-r", "celba-hq"]
    assert _refusal(config).startswith("benchmark_datasets: unknown dataset 'celba-hq'; did you mean 'celeba-hq'? "
                                       "Known: celeba-hq, celeba-hq-dtp, ")


def test_an_empty_list_still_turns_a_method_off(config):
    config["methods"]["wct"] = {"datasets": []}
    assert config_check.check_config(config)["methods"]["wct"] == {"datasets": []}


def test_a_method_name_in_the_figures_must_be_registered(config):
    config["report"] = {"figures": {"methods": ["dtp_lc1_5@1024x1024", "gatis"]}}
    assert _refusal(config).startswith("report.figures.methods: unknown method 'gatis'; did you mean 'gatys'?")


def test_dataset_names_are_checked_even_on_a_config_the_schema_refuses(config):
    config["datasets"]["names"] = ["celba-hq"]
    config["benchmark_datasets"] = "photo-r"  # not a list: the schema's to refuse, not a crash here
    config["methods"]["wct"] = "on"
    with pytest.raises(ConfigError, match=r"datasets.names: unknown dataset 'celba-hq'; did you mean 'celeba-hq'"):
        config_check.check_dataset_names(config)


# --- methods.<m>.params ---------------------------------------------------------------------------------
@pytest.mark.parametrize("params, message", [
    ({"iterations": -1}, "methods.dtp_lc1_5.params.iterations: must be an integer >= 1, got -1. Fix: change "
                         "methods.dtp_lc1_5.params.iterations in the config file or the --config override"),
    ({"iterations": "forty"}, "methods.dtp_lc1_5.params.iterations: expected an integer, got 'forty'. "
                              "Fix: write e.g. iterations: 1000"),
    ({"lambda_c": 2}, "methods.dtp_lc1_5.params.lambda_c: must be in [0, 1], got 2."),
    ({"lamda_c": 0.3}, "methods.dtp_lc1_5.params.lamda_c: is not a DTP parameter. Fix: did you mean lambda_c?"),
    ({"betas": [0.9]}, "methods.dtp_lc1_5.params.betas: expected a list of 2 numbers, got [0.9]."),
    ({"use_fma": "maybe"}, "methods.dtp_lc1_5.params.use_fma: expected true or false, got 'maybe'."),
])
def test_a_bad_parameter_is_refused_naming_its_key_path(config, params, message):
    config["methods"]["dtp_lc1_5"] = {"params": params}
    assert _refusal(config).startswith(message)


def test_baseline_parameters_are_checked_by_their_own_config_class(config):
    config["methods"]["gatys"] = {"params": {"iteration": 5}}
    assert _refusal(config).startswith("methods.gatys.params.iteration: is not a parameter of GatysConfig. "
                                       "Fix: did you mean iterations?")
    config["methods"]["gatys"] = {"params": {"iterations": 0}}
    assert _refusal(config).startswith("methods.gatys.params.iterations:")


def test_the_check_calls_the_registrys_make_config_the_jobs_call(config, monkeypatch):
    seen = []
    spec = methods.get("reinhard")
    spying = dataclasses.replace(spec, make_config=lambda params: seen.append(params) or spec.make_config(params))
    monkeypatch.setitem(methods.METHODS, "reinhard", spying)
    config["methods"]["reinhard"] = {"params": {"space": "cielab"}}
    config_check.check_config(config)
    assert seen == [{"space": "cielab"}]
    # ... the call each job makes (so the two cannot disagree on what is a good value)
    assert "spec.make_config(params or {})" in inspect.getsource(stylize_job._prepare)


def test_parameters_given_as_strings_come_back_as_their_types(config):
    config["methods"]["dtp_lc1_5"] = {"params": {"iterations": "5", "snapshots": ["0", "4"], "lambda_c": "0.5",
                                                 "use_fma": "false", "lr": 2e-4}}
    config["methods"]["sinir"] = {"params": {"style_long_side": "null"}}
    checked = config_check.check_config(config)
    assert checked["methods"]["dtp_lc1_5"]["params"] == {"iterations": 5, "snapshots": [0, 4], "lambda_c": 0.5,
                                                         "use_fma": False, "lr": 2e-4}
    assert checked["methods"]["sinir"]["params"] == {"style_long_side": None}
    assert config["methods"]["dtp_lc1_5"]["params"]["iterations"] == "5"  # the input is not changed


def test_from_dict_reads_strings_as_the_field_types_and_the_job_agrees():
    assert DTPConfig.from_dict({"iterations": "5", "betas": ["0.9", "0.99"], "keep_aspect": "true"}) == \
        DTPConfig(iterations=5, betas=(0.9, 0.99), keep_aspect=True)
    assert DTPConfig.from_dict({"lambda_c": 1}).lambda_c == 1  # a value of the right type is kept as it is
    wct = WCTConfig.from_dict({"levels": ["5", "4"], "content_size": "none", "weights_format": "pth"})
    assert (wct.levels, wct.content_size, wct.weights_format) == ((5, 4), None, "pth")
    with pytest.raises(ConfigError, match=r"levels: expected a list of integers, got \['5', 'x'\]"):
        WCTConfig.from_dict({"levels": ["5", "x"]})
    with pytest.raises(ConfigError, match=r"lr: expected a number, got 'inf'"):
        DTPConfig.from_dict({"lr": "inf"})
    with pytest.raises(ConfigError, match=r"backbone: expected a string, got 16"):
        DTPConfig.from_dict({"backbone": 16})


# --- datasets.mirror ------------------------------------------------------------------------------------
@pytest.mark.parametrize("said", [None, "null", "None", "none", "", "~"])
def test_every_way_of_saying_null_means_upstream(config, said):
    config["datasets"]["mirror"] = said
    assert config_check.check_config(config)["datasets"]["mirror"] is None


def test_a_missing_mirror_folder_is_one_error_up_front(config, tmp_path):
    config["datasets"]["mirror"] = str(tmp_path / "mirorr")
    assert _refusal(config) == (f"datasets.mirror: folder {tmp_path / 'mirorr'} does not exist (relative paths start "
                                f"at {REPO}). Fix: point datasets.mirror at the mirror's folder (e.g. ../shared/data), "
                                "or set it to null to fetch upstream")
    (tmp_path / "file").write_text("")
    config["datasets"]["mirror"] = str(tmp_path / "file")
    assert "is a file, not a folder" in _refusal(config)


def test_a_results_folder_that_cannot_be_one_is_refused_up_front(config, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    config["results"] = str(tmp_path / "notes.txt")
    assert _refusal(config) == (f"results: {tmp_path / 'notes.txt'} is a file, not a folder. Fix: set results to a "
                                "folder you can write (e.g. --config results=results/run2), or move the file away")
    config["results"] = str(tmp_path / "notes.txt" / "run")
    assert f"results: {tmp_path / 'notes.txt' / 'run'}: parent {tmp_path / 'notes.txt'} is a file" in _refusal(config)
    config["results"] = str(tmp_path / "new" / "run")  # not there yet: made by the first job
    assert config_check.check_config(config)["results"] == str(tmp_path / "new" / "run")


def test_a_mirror_url_is_left_alone(config):
    config["datasets"]["mirror"] = "https://example.org/mirror"
    assert config_check.check_config(config)["datasets"]["mirror"] == "https://example.org/mirror"


# --- --config strings, before the schema ----------------------------------------------------------------
def test_command_line_strings_become_the_schemas_types():
    config = {"datasets": {"limit": "2", "mirror": "null", "fetch": {"backoff_s": "0.5"}, "names": ["photo-r"]},
              "delivery": {"size": "null", "upsampler": {"radius": "4"}},
              "metrics": {"ssim": {"downsample": "false", "data_range": "1.0", "colour": "rgb"}},
              "methods": {"dtp_lc1_5": {"params": {"iterations": "5"}}}, "threads_per_job": 2}
    typed = config_check.typed_command_line(config, SCHEMA)
    assert typed["datasets"] == {"limit": 2, "mirror": None, "fetch": {"backoff_s": 0.5}, "names": ["photo-r"]}
    assert typed["delivery"] == {"size": None, "upsampler": {"radius": 4}}
    assert typed["metrics"]["ssim"] == {"downsample": False, "data_range": 1.0, "colour": "rgb"}
    assert typed["methods"]["dtp_lc1_5"]["params"] == {"iterations": "5"}  # the method's config class reads these
    assert config_check.typed_command_line({"datasets": {"limit": "two"}}, SCHEMA)["datasets"]["limit"] == "two"


# --- what the schema refuses, said as a key path and a fix ---------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"device": "gpu"}, "device: 'gpu' does not match '^(auto|cpu|mps|cuda(:[0-9]+)?)$'. Fix: use a value matching"),
    ({"threads_per_job": "two"}, "threads_per_job: 'two' is not of type 'integer'. Fix: use an integer; CPU threads"),
    ({"batch_pairs": 0}, "batch_pairs: 0 is less than the minimum of 1. Fix: use a number >= 1; DTP trains"),
    ({"datasets": {"sizes": ["64x"]}}, "datasets.sizes.0: '64x' does not match"),
    ({"methods": {"dtp_lc1_6": {}}}, "Fix: use 'dtp_lc1_5' (the closest), or one of dtp_lc1_5, dtp_lc4_5,"),
    ({"results": "data/out"}, "results: 'data/out' does not match"),
])
def test_a_schema_refusal_names_the_key_path_the_value_and_the_fix(quick_config, change, message):
    config = copy.deepcopy(quick_config)
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and key != "methods" else value
    with pytest.raises(ConfigError) as err:
        config_check.explain_schema_error(config, SCHEMA)
    assert message in str(err.value)


def test_a_config_the_schema_accepts_is_not_explained(quick_config):
    assert config_check.explain_schema_error(copy.deepcopy(quick_config), SCHEMA) is None


# --- real dry runs ----------------------------------------------------------------------------------------
SMALL = {"methods": {"dtp_lc1_5": {"params": {"iterations": 3}}, "reinhard": {}},
         "datasets": {"names": ["photo-r"], "limit": 1, "sizes": ["32x32"]}}


def _dry_run(tmp_path, changes: dict, *args: str, mirror=None):
    make_workdir(tmp_path, mirror if mirror is not None else shared("."), {**copy.deepcopy(SMALL), **changes})
    run = run_snakemake(tmp_path, "--cores", "1", "--dry-run", "--printshellcmds", *args, timeout=600)
    return run, run.stdout + run.stderr


def test_dry_run_refuses_a_misspelt_dataset_with_the_suggestion(tmp_path):
    run, output = _dry_run(tmp_path, {"benchmark_datasets": ["photo-r", "celba-hq"]})
    assert run.returncode != 0
    assert "benchmark_datasets: unknown dataset 'celba-hq'; did you mean 'celeba-hq'?" in output
    assert "Job stats" not in output


def test_dry_run_refuses_a_bad_parameter_naming_its_key_path_before_any_job(tmp_path):
    run, output = _dry_run(tmp_path, {}, "--config", "methods={dtp_lc1_5: {params: {lambda_c: 2}}}")
    assert run.returncode != 0
    assert "methods.dtp_lc1_5.params.lambda_c: must be in [0, 1], got 2.0." in output
    assert "Job stats" not in output and "Building DAG" not in output


def test_dry_run_takes_a_command_line_override_as_its_type(tmp_path):
    run, output = _dry_run(tmp_path, {}, "--config", "methods={dtp_lc1_5: {params: {iterations: 5}}}")
    assert run.returncode == 0, output[-3000:]
    assert "--params '{\"iterations\": 5}'" in output  # the job gets 5, not "5"


def test_dry_run_reads_a_null_mirror_from_the_command_line_as_upstream(tmp_path):
    run, output = _dry_run(tmp_path, {}, "--config", "datasets={mirror: null}")
    assert run.returncode == 0, output[-3000:]  # not the folder "null" (which the mirror check would refuse)
    assert "rule datasets_fetch" in output


def test_dry_run_says_a_schema_refusal_as_a_key_path_and_a_fix(tmp_path):
    run, output = _dry_run(tmp_path, {}, "--config", "datasets={sizes: [64x]}")
    assert run.returncode != 0
    assert "datasets.sizes.0: '64x' does not match '^([0-9]+x[0-9]+|long[0-9]+)$'. Fix: use a value matching" in output
    assert "Job stats" not in output


def test_dry_run_refuses_a_missing_mirror_folder_once(tmp_path):
    run, output = _dry_run(tmp_path, {}, mirror=tmp_path / "no-such-mirror")
    assert run.returncode != 0
    assert output.count(f"datasets.mirror: folder {tmp_path / 'no-such-mirror'} does not exist") == 1
    assert "Job stats" not in output
