# Shared helpers: config validation, paths, and the list of what `all` builds.
from pathlib import Path

from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

# Stage rule files, in DAG order; each exists once its stage is implemented.
RULE_FILES = [
    f"workflow/rules/{stage}.smk"
    for stage in ("datasets", "weights", "stylize", "evaluate", "gather")
    if Path(workflow.basedir, "workflow", "rules", f"{stage}.smk").exists()
]
# Targets that each stage file adds to `all` (a stage appends to this list when included).
ALL_TARGETS = []


def all_targets():
    # Evaluated lazily by `rule all`, after every stage file has appended its targets.
    return ALL_TARGETS
