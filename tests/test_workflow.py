"""The whole workflow for real, locally: a reduced quick config from fetch to every table and figure,
nothing to do on a second run, a parameter change re-running only that method, and a job killed
midway leaving nothing that looks finished and completed by the rerun."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import shared
from workflow_sandbox import make_workdir, run_snakemake, snakemake_command, write_config

pytestmark = pytest.mark.slow

METHODS = {
    "dtp_lc1_5": {"params": {"iterations": 3, "snapshots": [0, 2]}},
    "dtp_lc4_5": {"params": {"iterations": 3, "snapshots": [0, 2]}},
    "dtp_no_fma": {"params": {"iterations": 3}, "datasets": ["photo-r"]},
    "identity": {},
    "reinhard": {},
    "wct": {"datasets": ["photo-r"]},  # no checkpoint here: its cells must say "unavailable"
}
TABLES = ("table1.csv", "table1.md", "table_full.csv", "table1_vs_paper.csv", "ablation.csv")
FIGURES = ("fig3_photo", "fig4_faces", "fig5_ablation", "scores", "tradeoff", "loss_curves", "cost")


def _job_counts(dry_run_output: str) -> dict[str, int]:
    stats = dry_run_output.split("Job stats:")[-1]
    return {rule: int(count) for rule, count in re.findall(r"^(\S+)\s+(\d+)$", stats, flags=re.M) if rule != "total"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    config = make_workdir(workdir, shared("."), {
        "methods": METHODS,
        "datasets": {"limit": 1, "sizes": ["32x32"]},
        "report": {"figures": {"loss_curve": {"method": "dtp_lc1_5", "pair": ""}}},
    })
    started = time.perf_counter()
    run = run_snakemake(workdir, "--cores", "2")
    (workdir / "snakemake.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    return workdir, config, time.perf_counter() - started


def test_every_table_and_figure_is_written(finished_run):
    workdir, _, seconds = finished_run
    for name in TABLES:
        assert (workdir / "results" / name).stat().st_size > 0, name
    for name in FIGURES:
        assert (workdir / f"results/figures/{name}.png").stat().st_size > 10_000, name
    table1 = (workdir / "results/table1.csv").read_text()
    assert "DTP, lambda_c = 1/5" in table1 and "unavailable" in table1
    print(f"reduced quick config end to end: {seconds:.0f} s")


def test_outputs_record_how_they_were_made(finished_run):
    workdir = finished_run[0]
    sidecars = {p.parent.name: json.loads(p.read_text()) for p in (workdir / "results/outputs/photo-r").glob("*/*.json")}
    dtp = sidecars["dtp_lc1_5"]
    assert dtp["status"] == "ok" and dtp["parameters"]["iterations"] == 3 and dtp["parameters"]["size"] == 32
    for key in ("backbone", "weights_sha256", "seed", "device", "seconds", "peak_rss_mib", "versions"):
        assert dtp[key] is not None, key
    assert sidecars["wct"]["status"] == "unavailable" and sidecars["wct"]["reason"].startswith("unavailable: needs")
    assert (workdir / "results/benchmarks/stylize/photo-r/dtp_lc1_5").is_dir()


def test_second_run_has_nothing_to_do(finished_run):
    run = run_snakemake(finished_run[0], "--cores", "2", "--dry-run")
    assert run.returncode == 0 and "Nothing to be done" in run.stdout + run.stderr, run.stdout[-3000:]


def test_a_parameter_change_is_refused_in_place_and_once_its_outputs_are_gone_reruns_only_that_method(finished_run):
    workdir, config, _ = finished_run
    changed = json.loads(json.dumps(config))
    changed["methods"]["dtp_lc4_5"]["params"]["iterations"] = 4
    write_config(workdir, changed)
    folders = [workdir / f"results/outputs/{dataset}/dtp_lc4_5" for dataset in ("photo-r", "celeba-hq", "ffhq")]
    try:
        refused = run_snakemake(workdir, "--cores", "2", "--dry-run")
        said = refused.stdout + refused.stderr  # a dry run's errors go to stdout
        assert refused.returncode != 0 and "3 finished output(s) in results/" in said, said[-3000:]
        assert all(f"{folder.relative_to(workdir)}/ (1 output): iterations: 3 -> 4" in said for folder in folders)
        for folder in folders:  # the fix the message gives: those outputs out of the way
            folder.rename(folder.with_name("kept"))
        run = run_snakemake(workdir, "--cores", "2", "--dry-run")
        counts = _job_counts(run.stdout)
        assert counts["stylize"] == 3, counts  # dtp_lc4_5 on one pair of each of the three datasets
        assert re.findall(r"--method (\S+)", run.stdout) == ["dtp_lc4_5"] * 3
        assert counts["evaluate"] == 3 and "datasets_resize" not in counts
    finally:
        for folder in folders:
            if folder.with_name("kept").exists():
                folder.with_name("kept").rename(folder)
        write_config(workdir, config)


def test_a_killed_job_leaves_nothing_finished_and_the_rerun_completes_it(finished_run):
    workdir, config, _ = finished_run
    target = workdir / "results/outputs/ffhq/dtp_lc1_5"
    (pair,) = [p.stem for p in target.glob("*.json")]
    # As if the run had been interrupted in this job: it and what depends on it never finished.
    downstream = [workdir / f"results/metrics/ffhq/dtp_lc1_5/{pair}.json", *(workdir / "results").glob("table*")]
    for stale in [*target.glob(f"{pair}*"), *downstream]:
        stale.unlink()
    slow = json.loads(json.dumps(config))
    slow["methods"]["dtp_lc1_5"]["params"]["iterations"] = 5000  # a job that is surely still running
    slow["methods"]["dtp_lc1_5"]["datasets"] = ["ffhq"]  # its finished outputs elsewhere, made with 3, stay planned out
    write_config(workdir, slow)
    log = workdir / f"results/logs/stylize/ffhq/dtp_lc1_5/{pair}.log"
    log.unlink()  # the first run's
    process = subprocess.Popen(snakemake_command("--cores", "2", f"results/outputs/ffhq/dtp_lc1_5/{pair}.json"),
                               cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (log.exists() and "started on" in log.read_text()):
            time.sleep(0.5)
        time.sleep(5)  # training, well inside the 5000 iterations
        assert process.poll() is None, process.stdout.read()
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: Snakemake and the job it runs
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "interrupted; nothing was written" in log.read_text()
    assert not (target / f"{pair}.json").exists()
    assert not (target / f"{pair}.png").exists()
    assert not list(target.glob(".*part*"))
    write_config(workdir, config)
    run = run_snakemake(workdir, "--cores", "2", "--dry-run")
    counts = _job_counts(run.stdout)
    assert counts.get("stylize") == 1, run.stdout[-3000:]
    run = run_snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stdout[-3000:]
    assert json.loads((target / f"{pair}.json").read_text())["status"] == "ok"


def test_batched_pairs_run_as_one_job(tmp_path):
    """batch_pairs: 2 sends two pairs to one DTP job (one rule, `stylize_batch`), one computation;
    each pair gets its own outputs, and its metrics file the batch's `benchmark:` time."""
    make_workdir(tmp_path, shared("."), {
        "methods": {"dtp_lc1_5": {"params": {"iterations": 2, "snapshots": [1]}}},
        "datasets": {"names": ["photo-r"], "limit": 2, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "metrics": {"enabled": ["ssim"]},
        "batch_pairs": 2,
    })
    target = "results/outputs/photo-r/dtp_lc1_5"
    run = run_snakemake(tmp_path, "--cores", "2", "--dry-run")
    counts = _job_counts(run.stdout)
    assert counts.get("stylize_batch") == 1 and counts.get("stylize_from_batch") == 2, counts
    assert "stylize" not in counts, counts
    metrics = [f"results/metrics/photo-r/dtp_lc1_5/{p}.json" for p in ("dpst-1", "dpst-2")]
    run = run_snakemake(tmp_path, "--cores", "2", "--", *[f"{target}/{p}.json" for p in ("dpst-1", "dpst-2")],
                        *metrics)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    sidecars = [json.loads((tmp_path / f"{target}/{p}.json").read_text()) for p in ("dpst-1", "dpst-2")]
    assert [s["status"] for s in sidecars] == ["ok", "ok"]
    assert [s["batch"]["index"] for s in sidecars] == [0, 1] and sidecars[0]["batch"]["pairs"] == 2
    assert [s["pair_id"] for s in sidecars] == ["dpst-1", "dpst-2"]
    assert (tmp_path / f"{target}/dpst-2.png").exists() and (tmp_path / f"{target}/dpst-2.iter0001.png").exists()
    benchmark = tmp_path / "results/benchmarks/stylize/photo-r/dtp_lc1_5/batch-0.tsv"
    assert benchmark.is_file()
    costs = [json.loads((tmp_path / path).read_text())["cost"] for path in metrics]
    assert all(cost["benchmark_s"] > 0 for cost in costs), costs
    assert costs[0]["benchmark_s"] == costs[1]["benchmark_s"]  # the batch's, as its sidecars say
    again = run_snakemake(tmp_path, "--cores", "2", "--dry-run", "--", *metrics)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


def test_batched_evaluate_scores_many_outputs_in_one_process(tmp_path):
    """evaluate_batch: 2 scores the outputs of a (dataset, method) two at a time, in pair-list
    order, one process (one scorer) per batch; each metrics file reaches its own path and says
    what a job per output would (the same scorer, the same inputs)."""
    make_workdir(tmp_path, shared("."), {
        "methods": {"identity": {}, "reinhard": {}},
        "datasets": {"names": ["photo-r"], "limit": 3, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "metrics": {"enabled": ["ssim", "gram", "histogram"]},
        "evaluate_batch": 2,
    })
    pairs = ("dpst-1", "dpst-2", "dpst-3")
    metrics = [f"results/metrics/photo-r/{m}/{p}.json" for m in ("identity", "reinhard") for p in pairs]
    run = run_snakemake(tmp_path, "--cores", "2", "--dry-run", "--", *metrics)
    counts = _job_counts(run.stdout)
    # 3 pairs in batches of 2: [dpst-1, dpst-2], [dpst-3], per method
    assert counts.get("evaluate_batch") == 4 and counts.get("evaluate_from_batch") == 6, counts
    assert "evaluate" not in counts, counts
    run = run_snakemake(tmp_path, "--cores", "2", "--", *metrics)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]

    for method in ("identity", "reinhard"):
        log = (tmp_path / f"results/logs/evaluate_batch/photo-r/{method}/batch-0.log").read_text()
        lines = log.splitlines()
        assert [line.split(":")[0] for line in lines] == [f"photo-r/{method}/{p}" for p in pairs[:2]], log
        assert len({re.search(r"\[process (\d+),", line).group(1) for line in lines}) == 1, log
        folder = tmp_path / f"results/metrics_batches/photo-r/{method}/batch-1"
        assert sorted(path.name for path in folder.glob("*.json")) == ["dpst-3.json"]

    from dtp_bench.metrics.evaluate import evaluate_many
    batched = json.loads((tmp_path / metrics[-1]).read_text())
    assert batched["status"] == "ok" and batched["pair_id"] == "dpst-3" and batched["method"] == "reinhard"
    alone = evaluate_many([{
        "sidecar": tmp_path / "results/outputs/photo-r/reinhard/dpst-3.json", "out": tmp_path / "alone.json",
        "dataset": "photo-r", "method": "reinhard", "pair_id": "dpst-3",
        "content": tmp_path / batched["content"], "style": tmp_path / batched["style"]}],
        {"enabled": ["ssim", "gram", "histogram"]})[0]
    # the same float32 computation; only the threads' split of its sums may differ (a few ulp)
    for name, value in alone["metrics"].items():
        assert batched["metrics"][name]["value"] == pytest.approx(value["value"], rel=1e-5), name
    again = run_snakemake(tmp_path, "--cores", "2", "--dry-run", "--", *metrics)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


@pytest.mark.parametrize("batch_pairs", [1, 2])
def test_a_job_holds_the_gpu_resource_only_where_it_can_have_a_gpu(tmp_path, batch_pairs):
    """profiles/default counts `gpu: 1`: a job that holds it on a machine without a GPU would make a
    CPU box run its DTP jobs one at a time. `device: cpu` holds none; `auto` holds one only where
    this machine has a CUDA GPU; a device named by the user holds one; a CPU method never does."""
    import torch

    make_workdir(tmp_path, shared("."), {
        "methods": {"dtp_lc1_5": {"params": {"iterations": 2}}, "reinhard": {}},
        "datasets": {"names": ["photo-r"], "limit": 2, "sizes": ["32x32"]},
        "benchmark_datasets": ["photo-r"],
        "batch_pairs": batch_pairs,
    })
    expected = {"cpu": 0, "auto": int(torch.cuda.device_count() > 0), "cuda": 1}
    for device, holds in expected.items():
        run = run_snakemake(tmp_path, "--cores", "4", "--dry-run", "--config", f"device={device}")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        jobs = re.findall(r"^rule stylize\w*:.*?wildcards: ([^\n]*).*?resources: ([^\n]*)", run.stdout,
                          flags=re.M | re.S)
        held = {("reinhard" if "method=reinhard" in wildcards else "dtp", re.search(r"gpu=(\d)", resources)[1])
                for wildcards, resources in jobs if "gpu=" in resources}
        assert held == {("dtp", str(holds)), ("reinhard", "0")}, (device, jobs)
        partition = "gpu" if holds else "cpu"
        assert all(f"slurm_partition={partition}" in r for w, r in jobs if "dtp_lc1_5" in w and "gpu=" in r)
