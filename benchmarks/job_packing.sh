#!/bin/bash
# Two ways to spend two cores on a run's stylize jobs: one job with 2 threads at a time
# (threads_per_job: 2, the default), or two 1-thread jobs side by side (threads_per_job: 1).
# Times one 2-thread job alone, then two 1-thread jobs at once, for DTP and SinIR at the pilot's
# settings (config/pilot.yaml: 64x64, 150 DTP iterations, SinIR 2 x 250 steps), and prints the jobs
# per hour of each. Needs the pilot's resized pairs (the workflow's data/resized/64x64, made by any
# run of config/pilot.yaml) and an otherwise idle machine.
#
#   benchmarks/job_packing.sh [OUT]        # OUT: scratch folder for the outputs (default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d)}; mkdir -p "$OUT"
PY=${PY:-.venv/bin/python}
PAIRS=data/resized/64x64/photo-r/dpst
for f in $PAIRS/input/in1.png $PAIRS/input/in2.png; do
  test -f "$f" || { echo "job_packing.sh: $f is missing: run the pilot's datasets stage first" \
    "(snakemake --cores 2 --configfile config/pilot.yaml -- datasets)"; exit 1; }
done
run() { # METHOD PARAMS THREADS OUT.png PAIR_NUMBER
  OMP_NUM_THREADS=$3 OMP_WAIT_POLICY=PASSIVE $PY -m dtp_bench.stylize_job --method "$1" --params "$2" \
    --threads "$3" --device cpu --content $PAIRS/input/in$5.png --style $PAIRS/style/tar$5.png \
    --out "$4" > "$4.log" 2>&1
}
$PY -c 'from dtp_core.devices import cpu_model_and_flags; print("CPU:", cpu_model_and_flags())'
for spec in 'dtp_lc1_5|{"iterations": 150, "snapshots": []}' \
            'sinir|{"style_long_side": 64, "iterations_per_scale": 250}'; do
  method=${spec%%|*}; params=${spec#*|}
  t0=$(date +%s.%N); run "$method" "$params" 2 "$OUT/${method}_solo.png" 1; t1=$(date +%s.%N)
  run "$method" "$params" 1 "$OUT/${method}_a.png" 1 & run "$method" "$params" 1 "$OUT/${method}_b.png" 2 &
  wait; t2=$(date +%s.%N)
  $PY -c "solo, pair = $t1 - $t0, $t2 - $t1
print(f'$method: one 2-thread job alone {solo:.1f} s; two 1-thread jobs at once {pair:.1f} s (wall); '
      f'jobs per hour {3600 / solo:.1f} against {7200 / pair:.1f}: {2 * solo / pair:.2f}x')"
done
