#!/usr/bin/env bash
# Install (if missing) and start a one-node SLURM cluster on localhost with fake GPUs, without
# systemd: munged, slurmctld, slurmd started by hand, PIDs kept in $DTP_SLURM_RUN. Idempotent: a
# cluster already up is left as it is. Needs root and Debian/Ubuntu (apt-get).
#   DTP_SLURM_GPUS=N  fake gres/gpu count, 1-4 (default 2, so a GPU job and a CPU job can overlap)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
GPUS=${DTP_SLURM_GPUS:-2}
GPU_FILES=(/dev/null /dev/zero /dev/full /dev/urandom)  # gres/gpu needs File=; any existing file does

wait_for() {  # wait_for SECONDS CMD...
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < end )) || { log "timed out waiting for: $*"; return 1; }
    sleep 0.3
  done
}
# `scontrol ping` first: it answers at once, where sinfo spends ~10 s retrying an absent controller
ctld_up() { scontrol ping 2>/dev/null | grep -q UP; }
node_up() { sinfo -h -n localhost -o %T 2>/dev/null | grep -Eqx 'idle|mixed|allocated'; }
spawn() {  # spawn NAME CMD...: a foreground daemon, detached, its PID recorded for teardown.sh
  local name=$1; shift
  setsid "$@" >"$DTP_SLURM_RUN/$name.out" 2>&1 </dev/null &
  echo $! >"$DTP_SLURM_RUN/$name.pid"
}

[[ $(id -u) == 0 ]] || { log "needs root (apt-get, daemons running as slurm/munge)"; exit 77; }
# up, and with this config's partitions (an older cluster of this script had only `debug`): keep it
partitions_ok() { [[ $(sinfo -h -o %R 2>/dev/null | sort | tr '\n' ' ') == "cpu gpu " ]]; }
if command -v scontrol >/dev/null && ctld_up && node_up && partitions_ok; then log "already up: $(sinfo -h -o '%P %T %N %G')"; exit 0; fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { log "slurm is not installed and there is no apt-get"; exit 77; }
  log "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # postinst starts nothing here (no systemd, policy-rc.d denies): that is what we want
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
bash "$here/teardown.sh"   # leftovers of a half-started cluster
mkdir -p "$DTP_SLURM_RUN" /etc/slurm

# config: this machine's real CPUs/memory as slurmd sees them, registered as node "localhost"
node=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/')
sed "s|^@NODE@|$node Gres=gpu:$GPUS|" "$here/slurm.conf.in" >/etc/slurm/slurm.conf
{ echo "AutoDetect=off"
  for ((i = 0; i < GPUS; i++)); do echo "NodeName=localhost Name=gpu File=${GPU_FILES[$i]} Count=1"; done
} >/etc/slurm/gres.conf

# munge (the package's postinst wrote the key)
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
runuser -u munge -- /usr/sbin/munged   # daemonizes itself
cp /run/munge/munged.pid "$DTP_SLURM_RUN/munged.pid"
wait_for 10 sh -c 'munge -n | unmunge'

# fresh state each time: no DRAIN reason or job left from an earlier cluster
rm -rf /var/spool/slurmctld /var/spool/slurmd
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
spawn slurmctld /usr/sbin/slurmctld -D -i
wait_for 30 ctld_up
spawn slurmd /usr/sbin/slurmd -D -N localhost
if ! wait_for 60 node_up; then
  sinfo -N -o '%N %T %E' >&2; tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
  exit 1
fi
log "up: $(sinfo -h -o '%P %T %N %G')"
