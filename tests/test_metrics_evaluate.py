"""Per-output evaluation: sidecar (+ image) -> metrics file, for ok, unavailable and failed jobs."""

import json

import pytest
import torch
from skimage import data

from dtp_core.images import resize, save_png, to_tensor
from dtp_core.method import StylizeResult
from dtp_core.outputs import save_result, save_status
from dtp_bench.metrics.evaluate import evaluate_many, main, read_benchmark
from dtp_bench.metrics.record import MetricsRecord
from dtp_bench.metrics.scorer import Scorer, settings_with_defaults

SETTINGS = {"enabled": ["ssim", "histogram"]}


@pytest.fixture
def pair(tmp_path):
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    save_png(content, resize(data.astronaut(), (40, 40)))
    save_png(style, resize(data.coffee(), (64, 64)))  # a style of another size is scored as the method saw it
    return {"content_file": str(content), "style_file": str(style), "dataset": "ffhq", "pair_id": "7"}


def test_ok_output_gets_values_and_its_provenance(tmp_path, pair):
    out = tmp_path / "out" / "identity" / "7.png"
    content = to_tensor(resize(data.astronaut(), (40, 40)))
    save_result(StylizeResult(content, {"seconds": 0.2, "peak_rss_mib": 50.0}), out, extra_facts={**pair, "method": "identity"})
    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\tmax_vms\n3.25\t0:00:03\t812.5\tNA\n")
    record = evaluate_many([{"sidecar": out.with_suffix(".json"), "out": tmp_path / "m.json", "benchmark": bench}],
                           SETTINGS)[0]
    assert record["status"] == "ok" and record["method"] == "identity" and record["pair_id"] == "7"
    assert record["metrics"]["ssim"] == {"status": "ok", "value": pytest.approx(1.0, abs=1e-12)}
    assert record["metrics"]["histogram"]["value"] > 0
    assert record["inputs_resized_to_output"] is True  # the 64 px style was resized to the 40 px output
    assert record["cost"] == {"seconds": 0.2, "peak_rss_mib": 50.0, "peak_gpu_mib": None,
                              "benchmark_s": 3.25, "benchmark_max_rss_mib": 812.5}
    assert "Gaussian window 11x11" in record["settings"]["ssim_convention"]
    assert json.loads((tmp_path / "m.json").read_text())["output_sha256"] == record["output_sha256"]


@pytest.mark.parametrize("status", ["unavailable", "failed"])
def test_outputs_without_an_image_keep_their_status_and_reason(tmp_path, pair, status):
    out = tmp_path / "wct" / "7.png"
    save_status(out, status, f"{status}: needs X from Y", {**pair, "method": "wct"})
    record = evaluate_many([{"sidecar": out.with_suffix(".json"), "out": tmp_path / "m.json"}], SETTINGS)[0]
    assert record["status"] == status and record["reason"] == f"{status}: needs X from Y"
    assert record["metrics"] == {}
    assert "output" not in record and "output_sha256" not in record  # only an output that exists has them


def test_the_tables_read_back_what_evaluate_wrote(tmp_path, pair):
    out = tmp_path / "out" / "identity" / "7.png"
    save_result(StylizeResult(to_tensor(resize(data.astronaut(), (40, 40))), {"seconds": 0.2}), out,
                extra_facts={**pair, "method": "identity"})
    written = evaluate_many([{"sidecar": out.with_suffix(".json"), "out": tmp_path / "m.json"}], SETTINGS)[0]
    on_disk = json.loads((tmp_path / "m.json").read_text())
    record = MetricsRecord.from_json(on_disk)
    assert record.to_json() == on_disk == json.loads(json.dumps(written))
    assert record.cost["seconds"] == 0.2 and record.metrics["ssim"]["status"] == "ok"


def test_bad_sidecars_are_refused(tmp_path, pair):
    out = tmp_path / "x.png"
    save_status(out, "maybe", "", {**pair, "method": "m"})
    with pytest.raises(ValueError, match="status must be"):
        evaluate_many([{"sidecar": out.with_suffix(".json"), "out": tmp_path / "m.json"}], SETTINGS)
    save_status(out, "failed", "", {"pair_id": "7", "method": "m"})
    with pytest.raises(ValueError, match="no dataset"):
        evaluate_many([{"sidecar": out.with_suffix(".json"), "out": tmp_path / "m.json"}], SETTINGS)


def test_cli(tmp_path, pair, capsys):
    out = tmp_path / "o.png"
    save_result(StylizeResult(to_tensor(resize(data.astronaut(), (40, 40))) * 0.5, {}), out,
                extra_facts={**pair, "method": "reinhard"})
    assert main(["--sidecar", str(out), "--out", str(tmp_path / "m.json"), "--settings", json.dumps(SETTINGS)]) == 0
    assert "ffhq/reinhard/7: ok" in capsys.readouterr().err
    assert main(["--sidecar", str(tmp_path / "none.json"), "--out", str(tmp_path / "n.json")]) == 2


def test_settings_are_validated():
    with pytest.raises(ValueError, match="metrics.colour"):
        settings_with_defaults({"colour": "rgb"})
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        settings_with_defaults({"enabled": ["fid"]})
    with pytest.raises(ValueError, match="metrics.gram.kind"):
        settings_with_defaults({"gram": {"kind": "wasserstein"}})
    with pytest.raises(ValueError, match="metrics.pieapp.url"):
        settings_with_defaults({"pieapp": {"url": "x"}})
    with pytest.raises(ValueError, match="colour"):
        Scorer({"enabled": ["ssim"], "ssim": {"colour": "lab"}})


def test_benchmark_file_absent_or_na(tmp_path):
    assert read_benchmark(None) == {} and read_benchmark(tmp_path / "nope.tsv") == {}
    bench = tmp_path / "b.tsv"
    bench.write_text("s\tmax_rss\nNA\tNA\n")
    assert read_benchmark(bench) == {"benchmark_s": None, "benchmark_max_rss_mib": None}


def test_config_schema_mirrors_the_metric_settings():
    import dataclasses
    from pathlib import Path

    import yaml

    from dtp_bench.metrics import METRICS
    from dtp_bench.metrics.scorer import DEFAULTS
    from dtp_bench.metrics.ssim import SSIMConvention

    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml").read_text())
    section = schema["properties"]["metrics"]["properties"]
    assert set(section) == set(DEFAULTS)
    assert section["enabled"]["items"]["enum"] == list(METRICS)
    assert set(section["ssim"]["properties"]) == {f.name for f in dataclasses.fields(SSIMConvention)}
    for key in ("pieapp", "gram", "histogram"):
        assert set(section[key]["properties"]) == set(DEFAULTS[key])
