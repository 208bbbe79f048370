import torch
from torch import nn

from dtp_core.generator import DECODER_BLOCKS, Decoder


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
