#!/usr/bin/env bash
# The GPU check, in one short run (installs nothing, reaches no network): DTP at 256x256 on CUDA,
# default numerics (TF32) and the bf16 fast path: s/iteration, peak GPU memory, a whole
# 1000-iteration run, batched pairs per hour, FLOPs and the fraction of the measured peak, and the
# fast path's numerics test. Usage: bash benchmarks/gpu.sh [python]   (about 3-5 minutes on an H200)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
export DTP_OFFLINE=1 PYTHONUNBUFFERED=1
"$PY" - <<'PYEOF'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
for dtype, name in ((torch.float32, "tf32"), (torch.bfloat16, "bf16")):
    torch.backends.cuda.matmul.allow_tf32 = True
    a = torch.randn(8192, 8192, device="cuda", dtype=dtype); b = torch.randn_like(a)
    for _ in range(3): a @ b
    torch.cuda.synchronize(); start = torch.cuda.Event(enable_timing=True); end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20): a @ b
    end.record(); torch.cuda.synchronize()
    print(f"measured peak {name} GEMM: {20 * 2 * 8192**3 / (start.elapsed_time(end) / 1e3) / 1e12:.0f} TFLOP/s")
PYEOF
"$PY" benchmarks/speed.py --device cuda --sizes 256 512 --iterations 30 --flops
"$PY" benchmarks/speed.py --device cuda --sizes 256 512 --iterations 30 --no-split --set 'precision="bf16"'
"$PY" benchmarks/speed.py --device cuda --sizes 256 --run 1000
"$PY" benchmarks/speed.py --device cuda --sizes 256 --run 1000 --set 'precision="bf16"'
"$PY" benchmarks/speed.py --device cuda --sizes 256 --batch 1 4 16 --iterations 50 --set 'precision="bf16"'
"$PY" benchmarks/speed.py --device cuda --sizes 1024 --iterations 3 --no-split --set 'corr_size=0' --set 'precision="bf16"'
"$PY" -m pytest -q tests/test_dtp_cuda.py tests/test_dtp_trainer.py -x -k "cuda or reference"
