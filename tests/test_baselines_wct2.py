"""WCT2: the authors' cat5 layout, the Haar filters, the whole method on fake checkpoints, and the
unavailable path."""

from __future__ import annotations

import pytest
import torch

from baselines import wct2
from checkpoint_fakes import committed, fake_state, layout, save
from dtp_core.errors import MethodUnavailable


def test_layout_matches_the_authors_wave_encoder_and_decoder():
    # tests/data/wct2_keys.txt: model.py WaveEncoder / WaveDecoder(option_unpool='cat5'), incl. the
    # Haar filters (pool1.LL.weight ..., recon_block3.HH.weight ...) and the cat5 convs (conv3_4_2 ...).
    parts = [("wave_encoder_cat5_l4.pth:", wct2.WaveEncoder()), ("wave_decoder_cat5_l4.pth:", wct2.WaveDecoder())]
    assert layout(parts) == committed("wct2")


def test_haar_unpooling_inverts_pooling():
    x = torch.rand(1, 8, 6, 10)
    bands = wct2.WaveBands(8, pool=True)(x)
    assert torch.allclose(sum(wct2.WaveBands(8, pool=False)(*bands)), x, atol=1e-6)


def test_wct_with_identity_ridge_is_clamped_to_the_content_range():
    content, style = torch.rand(1, 4, 6, 6), torch.rand(1, 4, 6, 6) * 10
    out = wct2.feature_wct(content, style, 1.0, ridge=1.0, clamp=True)
    assert out.min() >= content.min() and out.max() <= content.max()


@pytest.fixture
def weights(tmp_path):
    for name, module in zip(wct2.FILES, (wct2.WaveEncoder(), wct2.WaveDecoder())):
        save(tmp_path / "wct2" / name, fake_state(module, keep=("LL.weight", "LH.weight", "HL.weight", "HH.weight")))
    return tmp_path


@pytest.mark.parametrize("transfer_at", [("encoder", "skip", "decoder"), ("decoder",)])
def test_stylize_end_to_end_on_fake_checkpoints(weights, transfer_at):
    content, style = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 24, 32)
    config = wct2.WCT2Config(weights_dir=str(weights), transfer_at=transfer_at)
    result = wct2.stylize(content, style, config=config, device="cpu")
    assert result.image.shape == content.shape and torch.isfinite(result.image).all()
    assert set(result.facts["checkpoints"]) == set(wct2.FILES)


def test_any_size_is_rounded_to_multiples_of_8_and_back(weights):
    content = torch.rand(1, 3, 30, 37)
    result = wct2.stylize(content, torch.rand(1, 3, 29, 32), config=wct2.WCT2Config(weights_dir=str(weights)), device="cpu")
    assert result.image.shape == content.shape


def test_unavailable_names_the_file_and_its_url(tmp_path):
    with pytest.raises(MethodUnavailable, match=r"needs wave_encoder_cat5_l4.pth from https://github.com/clovaai/WCT2"):
        wct2.stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), config=wct2.WCT2Config(weights_dir=str(tmp_path)))
