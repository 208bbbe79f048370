"""`precision: bf16` on the CPU: detected at run time, recorded, and close to fp32.

The autocast path is the CUDA one (tests/test_dtp_cuda.py), run on the CPU: encoder and decoder in
bf16, channels-last; the correlation, the InfoNCE logits and the style matching in fp32. It runs on
every CPU; where the CPU has no bf16 hardware (AMX-BF16, AVX512-BF16) oneDNN emulates it, slower,
and the sidecar says so. Speed is a benchmark's business (docs/benchmarks.md), not a test's.
"""

import pytest
import torch

from dtp_core import correspondence, devices, trainer
from dtp_core.config import DTPConfig
from dtp_core.images import load_pair


def test_native_bf16_is_read_from_the_cpu_and_an_isa_cap_turns_it_off(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    flags = devices._cpuinfo()[1]
    if not flags:
        pytest.skip("no /proc/cpuinfo flags to compare with (not Linux)")
    assert devices.cpu_bf16_native() == bool({"amx_bf16", "avx512_bf16"} & flags)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert devices.cpu_bf16_native() is False


def test_the_sidecar_names_the_arithmetic(monkeypatch):
    cpu, config = torch.device("cpu"), DTPConfig(precision="bf16")
    assert trainer.numerics(DTPConfig(), cpu) == "fp32"
    assert trainer.numerics(config.replace(precision="fp32"), cpu) == "fp32"
    monkeypatch.setattr(trainer, "cpu_bf16_native", lambda: True)
    assert trainer.numerics(config, cpu).startswith("bf16 autocast (")
    monkeypatch.setattr(trainer, "cpu_bf16_native", lambda: False)
    assert trainer.numerics(config, cpu).startswith("bf16 autocast, emulated")


def test_bf16_on_the_cpu_computes_the_networks_in_bf16_and_the_matching_in_fp32(dpst_pair, resolved_weights,
                                                                                 monkeypatch):
    content, style = load_pair(*dpst_pair, size=32)
    seen = {}
    encoder_forward = torch.nn.Conv2d.forward

    def record_conv(self, x):
        out = encoder_forward(self, x)
        seen.setdefault("conv", out.dtype)
        return out

    correlate = correspondence.correlate

    def record_correlate(*args, **kwargs):
        match = correlate(*args, **kwargs)
        seen["correlation"] = match.to_content.dtype
        return match

    monkeypatch.setattr(torch.nn.Conv2d, "forward", record_conv)
    monkeypatch.setattr(trainer, "correlate", record_correlate)
    result = trainer.stylize(content, style, config=DTPConfig(size=32, iterations=1, snapshots=(), precision="bf16"),
                             device="cpu", resolved=resolved_weights, progress=False)
    assert seen == {"conv": torch.bfloat16, "correlation": torch.float32}
    assert result.facts["numerics"].startswith("bf16 autocast")
    assert result.image.dtype == torch.float32 and torch.isfinite(result.image).all()


def test_bf16_on_the_cpu_follows_fp32(dpst_pair, resolved_weights):
    """Tolerances as in tests/test_dtp_cuda.py, from the arithmetic: bf16 keeps 8 bits of mantissa
    (relative rounding 2^-9 = 2e-3 per stored activation; oneDNN accumulates in fp32), so after ~20
    layers a feature is off by ~sqrt(20) * 2e-3 = 1e-2 and the first loss, a mean over many such
    features, within 2e-2. Later iterations follow different rounding, and the correlation's argmax
    can pick other patches; the losses must still descend alike: the mean of the last 5 within 10%."""
    content, style = load_pair(*dpst_pair, size=48)
    runs = {}
    for precision in ("fp32", "bf16"):
        config = DTPConfig(size=48, iterations=25, snapshots=(), precision=precision)
        runs[precision] = trainer.stylize(content, style, config=config, device="cpu", resolved=resolved_weights,
                                          progress=False)
    strict, fast = ([row["total"] for row in runs[p].losses] for p in ("fp32", "bf16"))
    assert fast[0] == pytest.approx(strict[0], rel=2e-2)
    assert sum(fast[-5:]) == pytest.approx(sum(strict[-5:]), rel=0.1)
    assert strict[-1] < 0.8 * strict[0] and fast[-1] < 0.8 * fast[0]  # both really trained


def test_bf16_on_a_cpu_without_bf16_hardware_says_it_is_emulated(monkeypatch):
    """One note at the start, naming the CPU and the way out; fp32, or bf16 where native, says nothing."""
    from dtp_core.errors import Note

    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer, "cpu_bf16_native", lambda: False)
    with pytest.warns(Note, match=r"precision bf16 on a CPU without AMX-BF16.*use precision fp32"):
        trainer.prepare_run(DTPConfig(precision="bf16", backbone="vgg16"), cpu, None)
    monkeypatch.setattr(trainer, "cpu_bf16_native", lambda: True)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", Note)
        trainer.prepare_run(DTPConfig(precision="bf16", backbone="vgg16"), cpu, None)
        trainer.prepare_run(DTPConfig(backbone="vgg16"), cpu, None)
