# Shared helpers: config validation, paths, and the list of what `all` builds.
#
# The config is checked whole before anything is planned, so that a bad value stops the run before a
# job starts, as one error naming its key path and the fix (dtp_bench/config_check.py; the messages:
# docs/refusals.md): nested `--config` values, which Snakemake passes as strings, read as the schema's
# types; the schema; then what the schema cannot say (dataset names, the mirror folder, each method's
# params as its own config class reads them). `config` then holds the values the jobs will use.
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from dtp_bench import config_check

CONFIG_SCHEMA = os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")

config.update(config_check.typed_command_line(config, CONFIG_SCHEMA))
try:
    validate(config, CONFIG_SCHEMA)
except WorkflowError:
    config_check.check_dataset_names(config)  # a misspelt dataset: the closest name, not the schema's enum
    config_check.explain_schema_error(config, CONFIG_SCHEMA)  # the key path, the value, what it may be
    raise
config.update(config_check.check_config(config))

# Where this run's outputs, scores, tables and figures go (`results:`; config/quick.yaml has its own,
# so a quick check never replaces a paper-protocol output), with the logs of the jobs that write
# there (<results>/logs/). data/ and its logs/ are shared: they hold only checked, pinned inputs.
RESULTS = config.get("results", "results")

# Stage rule files, in DAG order.
RULE_FILES = [f"workflow/rules/{stage}.smk" for stage in ("datasets", "weights", "stylize", "deliver", "evaluate", "gather")]
# Targets that each stage file adds to `all` when included; `rule all` reads the list lazily.
ALL_TARGETS = []
