"""The sidecar's common facts (`dtp_core.records.sidecar_facts`), built once for DTP and the baselines."""

import torch

from baselines.identity import IdentityConfig
from dtp_core.config import DTPConfig
from dtp_core.records import Meter, sidecar_facts

BACKBONE = {"backbone": None, "weights_file": None, "weights_sha256": None, "weights_source": None,
            "backbone_note": ""}
ENVIRONMENT = {"device", "cpu", "host", "python", "versions", "git_commit", "finished_at"}


def _meter() -> Meter:
    with Meter(torch.device("cpu")) as meter:
        pass
    return meter


def test_every_method_records_the_same_facts_then_its_own():
    config = DTPConfig(iterations=3)
    facts = sidecar_facts("dtp", config, seed=5, input_shape=torch.Size([1, 3, 8, 8]), backbone=BACKBONE,
                          meter=_meter(), device=torch.device("cpu"), iterations=3, numerics="fp32")
    assert facts["method"] == "dtp" and facts["seed"] == 5 and facts["input_shape"] == [1, 3, 8, 8]
    assert facts["parameters"] == config.to_dict() and facts["non_default_parameters"] == {"iterations": 3}
    assert facts["iterations_run"] == 3 and facts["seconds_per_iteration"] >= 0 and facts["numerics"] == "fp32"
    assert set(BACKBONE) | {"seconds", "peak_rss_mib"} | ENVIRONMENT <= set(facts)


def test_a_method_without_iterations_records_no_time_per_iteration_and_cannot_hide_the_environment():
    facts = sidecar_facts("identity", IdentityConfig(), seed=1, input_shape=[1, 3, 4, 4], backbone=BACKBONE,
                          meter=_meter(), device=torch.device("cpu"), host="mine")
    assert "iterations_run" not in facts and "seconds_per_iteration" not in facts
    assert facts["parameters"] == {} and facts["host"] != "mine"
