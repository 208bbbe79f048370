# Shared helpers: config validation, paths, and the list of what `all` builds.
from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

# Stage rule files, in DAG order.
RULE_FILES = [f"workflow/rules/{stage}.smk" for stage in ("datasets", "weights", "stylize", "deliver", "evaluate", "gather")]
# Targets that each stage file adds to `all` when included; `rule all` reads the list lazily.
ALL_TARGETS = []
