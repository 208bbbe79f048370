import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dtp_core import generator
from dtp_core.generator import DECODER_BLOCKS, Decoder, channels_last_instance_norm, upsampled_conv3x3
from dtp_core.reference import plain_decode


def test_decoder_has_thirteen_residual_blocks_and_upsamples_four_times():
    decoder = Decoder()
    assert len(decoder) == len(DECODER_BLOCKS) == 13
    out = decoder(torch.randn(2, 256, 8, 8))
    assert out.shape == (2, 3, 32, 32)


def test_last_block_has_no_norm_and_no_activation_and_skips_with_a_1x1_conv():
    last = Decoder()[-1]
    assert last.norm is None and not last.activate
    assert isinstance(last.skip, nn.Conv2d) and last.skip.kernel_size == (1, 1)
    assert Decoder()[0].skip is None  # equal widths: identity skip


def test_batched_decoding_equals_separate_decoding():
    decoder = Decoder()
    x = torch.randn(3, 256, 8, 8)
    together = decoder(x)
    apart = torch.cat([decoder(x[i:i + 1]) for i in range(3)])
    # oneDNN may pick another kernel for a batch of 1 than of 3: rounding (~1e-6 of outputs of order 1)
    assert torch.allclose(together, apart, atol=1e-4)


def test_reflect_padding_is_selectable():
    assert Decoder("reflect")[0].conv.padding_mode == "reflect"
    assert Decoder()[0].conv.padding_mode == "zeros"


def _norm(channels: int) -> nn.InstanceNorm2d:
    torch.manual_seed(0)
    norm = nn.InstanceNorm2d(channels, affine=True).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
    return norm


def test_channels_last_instance_norm_is_instance_norm_with_its_gradients():
    """In float64 the affine form equals PyTorch's instance norm to rounding and its hand-written
    backward passes gradcheck (finite differences), for the input and both parameters."""
    norm = _norm(6)
    x = (torch.randn(2, 6, 12, 10, dtype=torch.float64) * 3 + 2).contiguous(memory_format=torch.channels_last)
    y = channels_last_instance_norm(x, norm)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(y, norm(x), atol=1e-12)
    affine = lambda a, w, b: channels_last_instance_norm(a, type("Norm", (), {"weight": w, "bias": b, "eps": norm.eps}))
    assert torch.autograd.gradcheck(affine, (x.requires_grad_(), norm.weight, norm.bias))


def test_channels_last_instance_norm_in_bf16_stays_bf16_and_within_its_rounding():
    """bf16 in, bf16 out, in the input's layout, as the decoder's next convolution wants it. The
    statistics come from fp32 sums, so what remains is bf16's own rounding: of the input (2^-9 of
    |x|), of the per-channel scale and shift, and of the output, a few units of 2^-8 of the largest
    value; backward likewise, relative to the largest gradient."""
    norm = _norm(8)
    x = (torch.randn(2, 8, 16, 16, dtype=torch.float64) * 3 + 2).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    exact = norm(x)
    low = x.detach().bfloat16().contiguous(memory_format=torch.channels_last).requires_grad_()
    y = channels_last_instance_norm(low, _norm(8).float())
    assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=torch.channels_last)
    assert (y.double() - exact).abs().max() <= 4 * 2**-8 * exact.abs().max()
    grad = torch.randn(exact.shape, dtype=exact.dtype, generator=torch.Generator().manual_seed(1))
    exact.backward(grad)
    y.backward(grad.bfloat16())
    assert (low.grad.double() - x.grad).abs().max() <= 4 * 2**-8 * x.grad.abs().max()


def test_the_decoder_on_the_affine_norm_decodes_and_learns_as_on_instance_norm(monkeypatch):
    """The CPU's bf16 path takes the affine norm in every block; forced onto it in float64, a
    channels-last decoder must give what the stock one gives, alone and under torch.func.vmap (the
    batched runs), and the same parameter gradients."""
    torch.manual_seed(0)
    decoder = Decoder().double()
    x = torch.randn(2, 3, 256, 4, 4, dtype=torch.float64)  # two pairs of three decodes
    expected = torch.stack([plain_decode(decoder, pair) for pair in x])
    expected.square().mean().backward()
    stock = [p.grad.clone() for p in decoder.parameters()]
    decoder.zero_grad()
    monkeypatch.setattr(generator, "cpu_bf16", lambda _: True)
    decoder = decoder.to(memory_format=torch.channels_last)
    alone = decoder(x[0].contiguous(memory_format=torch.channels_last))
    assert torch.allclose(alone, expected[0], atol=1e-10)
    mapped = torch.func.vmap(decoder)(x)
    assert torch.allclose(mapped, expected, atol=1e-10)
    mapped.square().mean().backward()
    for got, want in zip((p.grad for p in decoder.parameters()), stock):
        assert torch.allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("shape", [(2, 5, 4, 6), (1, 3, 1, 1), (3, 4, 7, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_upsampled_conv3x3_is_the_conv_of_the_upsampled_map(shape, with_bias):
    """The four folded 2x2 convs are the 3x3 conv of the nearest-upsampled map (zero padding), with
    the same gradients for the input, the kernel and the bias: float64, so rounding is ~1e-15."""
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, shape[1], 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, dtype=torch.float64, requires_grad=True) if with_bias else None
    fast = upsampled_conv3x3(x, weight, bias)
    plain = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)
    assert fast.shape == plain.shape and torch.allclose(fast, plain, rtol=0, atol=1e-12)
    upstream = torch.randn_like(plain)
    leaves = [t for t in (x, weight, bias) if t is not None]
    for got, want in zip(torch.autograd.grad((fast * upstream).sum(), leaves),
                         torch.autograd.grad((plain * upstream).sum(), leaves)):
        assert torch.allclose(got, want, rtol=0, atol=1e-11)


@pytest.mark.parametrize("padding", ["zeros", "reflect"])
def test_the_decoder_is_the_authors_upsample_then_convolve(padding):
    """Zero padding takes the folded convs and the skip before the upsampling; reflect padding (whose
    border the folding does not preserve) the plain form. Both equal the authors' order of
    operations (`reference.plain_decode`), forward and parameter gradients, in float64."""
    torch.manual_seed(0)
    decoder = Decoder(padding_mode=padding).double()
    x = torch.randn(3, 256, 4, 5, dtype=torch.float64)
    gradients = []
    for decode in (decoder, lambda v: plain_decode(decoder, v)):
        decoder.zero_grad()
        out = decode(x)
        out.square().mean().backward()
        gradients.append((out.detach(), [p.grad.clone() for p in decoder.parameters()]))
    (fast, fast_grads), (plain, plain_grads) = gradients
    assert torch.allclose(fast, plain, rtol=0, atol=1e-10)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-10) for a, b in zip(fast_grads, plain_grads))


def test_upsampled_conv3x3_keeps_channels_last_for_the_bf16_path():
    x = torch.randn(1, 8, 5, 5).bfloat16().contiguous(memory_format=torch.channels_last)
    y = upsampled_conv3x3(x, torch.randn(4, 8, 3, 3).bfloat16(), None)
    assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=torch.channels_last)
