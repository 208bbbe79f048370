# Shared by setup.sh and teardown.sh: where the throw-away cluster keeps its PIDs and daemon output.
DTP_SLURM_RUN=${DTP_SLURM_RUN:-/tmp/dtp-slurm}
log() { echo "[slurm] $*" >&2; }
