"""Score stylised outputs: OUT.json sidecar (+ OUT.png) -> results/metrics/<dataset>/<method>/<pair>.json.

    python -m dtp_bench.metrics.evaluate --sidecar OUT.json --out METRICS.json \
        [--dataset D --method M --pair-id P] [--benchmark BENCH.tsv] [--settings '{"ssim": {...}}']

The metrics file repeats the sidecar's status: an output that is `unavailable` or `failed` gets a
metrics file with that status and reason and no values, so the tables can say why a cell is empty.
It also carries the job's cost (seconds and peak memory from the sidecar, and from Snakemake's
`benchmark:` file when given) and how every number was made (SSIM convention, weights files).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from dtp_core.atomic import write_json
from dtp_core.images import load_image, resize, to_tensor
from dtp_core.outputs import sidecar_path
from dtp_core.weights import sha256_file

from .record import BENCHMARK_COST_KEYS, SIDECAR_COST_KEYS, MetricsRecord
from .scorer import Scorer


def read_benchmark(path: str | Path | None) -> dict:
    """Snakemake's `benchmark:` TSV (s, max_rss in MB, ...) -> {benchmark_s, benchmark_max_rss_mib}
    (BENCHMARK_COST_KEYS)."""
    if not path or not Path(path).is_file():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        return {}
    row = rows[-1]  # `repeat()` writes one row per run; the last is the run that made the output

    def number(key):
        try:
            return float(row[key])
        except (KeyError, TypeError, ValueError):
            return None  # "NA" where psutil could not measure
    return dict(zip(BENCHMARK_COST_KEYS, (number("s"), number("max_rss"))))


def _load_at(path: str, shape: tuple[int, int]):
    array = load_image(path)
    resized = array.shape[:2] != shape
    return to_tensor(resize(array, shape)), resized


def evaluate_output(sidecar_file: str | Path, out_json: str | Path, scorer: Scorer, *, dataset: str | None = None,
                    method: str | None = None, pair_id: str | None = None, content: str | None = None,
                    style: str | None = None, benchmark: str | Path | None = None) -> dict:
    """Score one output and write its metrics file (atomically). Returns what was written
    (`MetricsRecord.to_json()`).

    `content`/`style` default to the files the sidecar says the method read."""
    sidecar_file = Path(sidecar_file)
    sidecar = json.loads(sidecar_file.read_text())
    status = sidecar.get("status")
    if status not in ("ok", "unavailable", "failed"):
        raise ValueError(f"{sidecar_file}: status must be ok, unavailable or failed, got {status!r}")
    content = content or sidecar.get("content_file")
    style = style or sidecar.get("style_file")
    record = MetricsRecord(
        status=status, reason=sidecar.get("reason", ""),
        dataset=dataset or sidecar.get("dataset"), method=method or sidecar.get("method"),
        pair_id=str(pair_id if pair_id is not None else sidecar.get("pair_id")),
        sidecar=str(sidecar_file), backbone=sidecar.get("backbone"),
        backbone_note=sidecar.get("backbone_note", ""),
        cost={**{key: sidecar.get(key) for key in SIDECAR_COST_KEYS}, **read_benchmark(benchmark)},
        settings=scorer.describe(),
        content=str(content) if content else None, style=str(style) if style else None,
    )
    for key in ("dataset", "method"):
        if not getattr(record, key):
            raise ValueError(f"{sidecar_file}: no {key} recorded in the sidecar; pass {key}=")
    if record.pair_id in ("", "None"):
        raise ValueError(f"{sidecar_file}: no pair_id recorded in the sidecar; pass pair_id=")
    if status == "ok":
        output_png = sidecar_file.with_suffix(".png")
        if not content or not style:
            raise ValueError(f"{sidecar_file}: no content_file/style_file recorded; pass content and style")
        output = to_tensor(load_image(output_png))
        shape = tuple(output.shape[-2:])
        content_t, content_resized = _load_at(content, shape)
        style_t, style_resized = _load_at(style, shape)
        record.output, record.output_sha256 = str(output_png), sha256_file(output_png)
        # A method that saw other sizes (e.g. a precomputed output) is scored at its output's size.
        record.inputs_resized_to_output = bool(content_resized or style_resized)
        record.metrics = scorer.score(output, content_t, style_t)
    written = record.to_json()
    write_json(out_json, written)
    return written


def score_job(job: dict, scorer: Scorer) -> dict:
    """`evaluate_output` for one job: its keyword arguments, plus `sidecar` and `out`."""
    context = {k: v for k, v in job.items() if k not in ("sidecar", "out")}
    return evaluate_output(job["sidecar"], job["out"], scorer, **context)


def evaluate_many(jobs: list[dict], settings: dict | None = None) -> list[dict]:
    """Score several outputs (jobs as `score_job` reads them) with one scorer (models loaded once)."""
    scorer = Scorer(settings)
    return [score_job(job, scorer) for job in jobs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sidecar", required=True, type=Path, help="OUT.json (or OUT.png) of the stylisation job")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dataset")
    parser.add_argument("--method")
    parser.add_argument("--pair-id")
    parser.add_argument("--content")
    parser.add_argument("--style")
    parser.add_argument("--benchmark", type=Path)
    parser.add_argument("--settings", default="{}", help="JSON object: the config's metrics section")
    args = parser.parse_args(argv)
    try:
        record = evaluate_many([{"sidecar": sidecar_path(args.sidecar), "out": args.out, "dataset": args.dataset,
                                 "method": args.method, "pair_id": args.pair_id, "content": args.content,
                                 "style": args.style, "benchmark": args.benchmark}], json.loads(args.settings))[0]
    except (ValueError, OSError) as err:
        print(f"evaluate: error: {err}", file=sys.stderr)
        return 2
    values = {k: (round(v["value"], 4) if v["status"] == "ok" else v["status"]) for k, v in record["metrics"].items()}
    print(f"{record['dataset']}/{record['method']}/{record['pair_id']}: {record['status']} {values}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
