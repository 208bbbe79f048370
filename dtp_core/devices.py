"""Device choice, seeding and deterministic mode."""

from __future__ import annotations

import ctypes
import os
import random
import sys

import numpy as np
import torch

from .errors import ConfigError


def select_device(spec: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when present, else MPS where it works, else CPU. Explicit names are checked."""
    if isinstance(spec, torch.device):
        return spec
    spec = str(spec).lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_works():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device", f"{spec!r} requested but no CUDA device is available", "use --device cpu or auto")
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError("device", f"{spec!r}: only {torch.cuda.device_count()} CUDA device(s)", "use cuda:0 .. cuda:N-1")
        return device
    if spec == "mps":
        if not _mps_works():
            raise ConfigError("device", "'mps' requested but MPS is not available", "use --device cpu or auto")
        return torch.device("mps")
    if spec == "cpu":
        return torch.device("cpu")
    raise ConfigError("device", f"unknown device {spec!r}", "use auto, cpu, cuda, cuda:N or mps")


def _mps_works() -> bool:
    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        return False
    try:
        torch.ones(1, device="mps").add_(1)
        return True
    except Exception:
        return False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_deterministic(enabled: bool) -> None:
    """Deterministic kernels (CPU runs are already bit-reproducible for a fixed thread count)."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and torch.cuda.is_available()


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def tune_heap(low_memory: bool) -> None:
    """How glibc treats the activation-sized blocks DTP frees every iteration (process-wide, for the
    process's life; no effect off glibc).

    By default glibc serves blocks above its mmap threshold (which it raises after each large free,
    but never above 32 MB) with fresh mappings, so the 50-100 MB activations of a 256x256 run are
    unmapped when freed and faulted in again, page by page, on the next iteration. The default here
    (fast) serves every block from the heap, keeps freed blocks there for reuse and trims the heap
    only above 1 GiB free: 1.13x per fp32 iteration at 256x256 for ~0.1 GiB more peak RSS (Intel
    Xeon; docs/benchmarks.md).
    `low_memory` (DTPConfig.low_memory) pins the threshold at 128 KiB instead, so every large block
    goes back to the OS at once and peak RSS stays near the live tensors (2.4 instead of 3.2-3.3
    GiB at 256x256), for page faults on every iteration (1.2-2x the time).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
    if low_memory:
        libc.mallopt(M_MMAP_MAX, 65536)  # glibc's defaults, should a default run have come first
        libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    else:
        # No block gets its own mapping (a threshold alone still left 20-80% of a freed 96 MiB
        # block's pages to fault in again here); glibc maps more heap itself if the heap cannot grow.
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(M_MMAP_MAX, 0)


# The instruction-set extensions that decide which CPU kernels run (and so the speed, and the last
# bits of a result): every benchmark figure names them.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def cpu_model_and_flags() -> str:
    """'AMD EPYC (avx2 fma)': the CPU's model name (as `lscpu` prints it) and its vector flags."""
    model, flags = _cpuinfo()
    return f"{model} ({' '.join(flag for flag in CPU_FLAGS if flag in flags) or 'no AVX2'})"


def _cpuinfo() -> tuple[str, set[str]]:
    """The first CPU's model name and flags from /proc/cpuinfo (('unknown CPU', set()) off Linux)."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) below which its bf16 kernels are emulated even on a CPU with
# AMX-BF16 or AVX512-BF16 (https://oneapi-src.github.io/oneDNN/dev_guide_cpu_dispatcher_control.html).
_ONEDNN_CAPS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def cpu_bf16_native() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AMX-BF16 tiles or AVX512-BF16), read from CPUID
    at run time. Elsewhere (e.g. an AVX2-only CPU) bf16 convolutions and matrix products are emulated
    and slower than fp32. An ONEDNN_MAX_CPU_ISA cap below AVX512_CORE_BF16 counts as no hardware."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _ONEDNN_CAPS_WITHOUT_BF16:
        return False
    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    if all(probe is None for probe in probes):  # another torch: the kernel's view of CPUID
        return bool({"amx_bf16", "avx512_bf16"} & _cpuinfo()[1])
    return any(probe() for probe in probes if probe is not None)
