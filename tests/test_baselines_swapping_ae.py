"""Swapping Autoencoder: the authors' E/G layout, the StyleGAN2 resampling, the whole method on a
fake checkpoint (with discriminator keys that must be ignored), and the unavailable path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from baselines import swapping_ae as sae
from checkpoint_fakes import committed, fake_state, layout, save
from dtp_core.errors import MethodUnavailable


def test_layout_matches_the_authors_encoder_and_generator():
    # tests/data/swapping_ae_keys.txt: StyleGAN2ResnetEncoder / StyleGAN2ResnetGenerator with the
    # released options, as the whole model's state dict names them (E.*, G.*), buffers included.
    parts = [("latest_checkpoint.pth:E.", sae.Encoder()), ("latest_checkpoint.pth:G.", sae.Generator())]
    assert layout(parts) == committed("swapping_ae")


def test_upfirdn2d_without_resampling_is_a_correlation_with_the_flipped_kernel():
    x, kernel = torch.rand(1, 2, 7, 7), torch.rand(3, 3)
    expected = F.conv2d(F.pad(x, [1, 1, 1, 1]), torch.flip(kernel, [0, 1])[None, None].expand(2, 1, 3, 3), groups=2)
    assert torch.allclose(sae.upfirdn2d(x, kernel, pad=(1, 1)), expected, atol=1e-6)


def test_blurred_upsampling_keeps_a_constant_image_constant():
    y = sae.Upsample((1, 3, 3, 1))(torch.ones(1, 1, 8, 8))
    assert y.shape == (1, 1, 16, 16) and torch.allclose(y[..., 2:-2, 2:-2], torch.ones(1))


@pytest.fixture
def weights(tmp_path):
    state = {f"E.{k}": v for k, v in fake_state(sae.Encoder(), keep=("kernel",)).items()}
    state.update({f"G.{k}": v for k, v in fake_state(sae.Generator(), seed=1, keep=("kernel",)).items()})
    state["D.convs.0.0.weight"] = torch.zeros(1)  # a discriminator's key: in the release, ignored here
    save(tmp_path / "swapping_ae" / "ffhq512_pretrained" / sae.CHECKPOINT, state)
    return tmp_path


def test_stylize_end_to_end_on_a_fake_checkpoint(weights):
    content, style = torch.rand(1, 3, 112, 120), torch.rand(1, 3, 128, 112)
    config = sae.SwappingAEConfig(weights_dir=str(weights))
    first = sae.stylize(content, style, config=config, device="cpu")
    assert first.image.shape == content.shape and 0 <= first.image.min() and first.image.max() <= 1
    assert first.facts["checkpoint_keys_ignored"] == 1
    again = sae.stylize(content, style, config=config, device="cpu")
    assert torch.equal(first.image, again.image)  # the fixed noise is drawn from the seed


def test_unavailable_names_the_checkpoint_and_the_zip(tmp_path):
    with pytest.raises(MethodUnavailable, match=r"needs ffhq512_pretrained/latest_checkpoint.pth from http.*\.zip"):
        sae.stylize(torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128),
                    config=sae.SwappingAEConfig(weights_dir=str(tmp_path)))
