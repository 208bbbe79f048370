#!/usr/bin/env bash
# Stop what setup.sh started: cancel jobs, then each daemon by its recorded PID (never by name).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/common.sh"
[[ -d $DTP_SLURM_RUN ]] || exit 0
# cancel jobs first (a job's slurmstepd would outlive slurmd), but only if our controller runs:
# scancel spends ~20 s retrying an absent one
if [[ -s $DTP_SLURM_RUN/slurmctld.pid ]] && kill -0 "$(cat "$DTP_SLURM_RUN/slurmctld.pid")" 2>/dev/null; then
  scancel --user=root >/dev/null 2>&1 || true
fi
for name in slurmd slurmctld munged; do
  [[ -s $DTP_SLURM_RUN/$name.pid ]] || continue
  pid=$(cat "$DTP_SLURM_RUN/$name.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DTP_SLURM_RUN/$name.pid"
done
# a stale pid file makes slurmctld's prerm (apt-get remove/upgrade) fail
rm -f /run/slurmctld.pid /run/slurmd.pid
log "down"
