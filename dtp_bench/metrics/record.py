"""`MetricsRecord`: the metrics file of one output, as `evaluate` writes it and the tables read it back.

    results/metrics/<dataset>/<method>/<pair>.json

One structure for both sides (light: no torch, the gather stage reads it). The JSON is the fields
by name; the three facts of a scored image (`output`, `output_sha256`, `inputs_resized_to_output`)
are written only where there is one (status "ok"): an output that is unavailable or failed has no
such keys at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

SIDECAR_COST_KEYS = ("seconds", "peak_rss_mib", "peak_gpu_mib")  # from the job's sidecar
BENCHMARK_COST_KEYS = ("benchmark_s", "benchmark_max_rss_mib")     # from Snakemake's `benchmark:` file
COST_KEYS = SIDECAR_COST_KEYS + BENCHMARK_COST_KEYS
_ONLY_WITH_AN_OUTPUT = ("output", "output_sha256", "inputs_resized_to_output")


@dataclass
class MetricsRecord:
    # Every field has a default so that a file written before a field existed still reads (as None).
    status: str | None = None           # the sidecar's: "ok" | "unavailable" | "failed"
    reason: str | None = None           # why, when not ok
    dataset: str | None = None
    method: str | None = None
    pair_id: str | None = None
    sidecar: str | None = None          # the stylisation job's OUT.json
    backbone: str | None = None         # the method's VGG backbone (None: it reads none)
    backbone_note: str | None = None    # "" unless a stand-in was used
    cost: dict = field(default_factory=dict)      # COST_KEYS -> seconds / MiB (None where not measured)
    settings: dict = field(default_factory=dict)  # how every number was made (`Scorer.describe`)
    metrics: dict = field(default_factory=dict)   # name -> {"status", "value" | "reason"}
    content: str | None = None          # the inputs the output was scored against
    style: str | None = None
    output: str | None = None           # the scored PNG (status ok only)
    output_sha256: str | None = None
    inputs_resized_to_output: bool | None = None  # a method that saw other sizes is scored at its output's

    def to_json(self) -> dict:
        """The metrics file's object (shallow: its values are this record's, as `write_json` takes them)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not (f.name in _ONLY_WITH_AN_OUTPUT and getattr(self, f.name) is None)}

    @classmethod
    def from_json(cls, values: dict) -> "MetricsRecord":
        """A metrics file's object; keys it does not know are ignored, keys it lacks read as defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
