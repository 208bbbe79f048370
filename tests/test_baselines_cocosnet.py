"""CoCosNet: the authors' Corr/G layout, the edge label, the networks loaded from fake checkpoints
through the real loading path, and the unavailable path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines import cocosnet as ccn
from checkpoint_fakes import committed, fake_state, layout, save
from dtp_core.errors import MethodUnavailable


def test_layout_matches_the_authors_correspondence_and_generator():
    # tests/data/cocosnet_keys.txt: NoVGGCorrespondence and SPADEGenerator with the celebahqedge
    # test options (use_attention, maskmix, PONO, PONO_C, adaptor_kernel 4, label_nc 15).
    parts = [("latest_net_Corr.pth:", ccn.NoVGGCorrespondence()), ("latest_net_G.pth:", ccn.SPADEGenerator())]
    assert layout(parts) == committed("cocosnet")


def _face(size=64, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.uint8)
    img[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 200  # a square: clear Canny edges
    return np.clip(img + rng.integers(0, 10, img.shape), 0, 255).astype(np.uint8)


def test_label_without_part_masks_is_canny_edges_only():
    label = ccn.label(_face(), size=64)
    assert label.shape == (1, 15, 64, 64)
    assert label[0, 0].sum() > 0                         # Canny edges of the square
    assert torch.equal(label[0, 1:14], torch.ones(13, 64, 64))  # no part boundary: distances at the ceiling
    assert label[0, 14].sum() == 0                       # no part boundaries


def test_label_with_a_part_mask_has_its_boundary_and_distance_map():
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    label = ccn.label(_face(), {"skin": mask}, size=64)
    assert label[0, 14, 16, 20] == 1 and label[0, 14, 32, 32] == 0
    skin_distance = label[0, 1]
    assert skin_distance[16, 20] == 0 and skin_distance[32, 32] > 0  # 0 on the boundary, growing inside
    assert torch.equal(label[0, 2:14], torch.ones(12, 64, 64))


def test_positional_norm_normalises_each_position_across_channels():
    out = ccn.positional_norm(torch.rand(1, 8, 3, 3) * 5 + 2)
    assert torch.allclose(out.mean(1), torch.zeros(1, 3, 3), atol=1e-5)


@pytest.fixture
def weights(tmp_path):
    for name, module in zip(ccn.FILES, (ccn.NoVGGCorrespondence(), ccn.SPADEGenerator())):
        save(tmp_path / "cocosnet" / name, fake_state(module))
    return tmp_path


def test_networks_load_from_fake_checkpoints_and_translate(weights):
    paths = {name: weights / "cocosnet" / name for name in ccn.FILES}
    corr, gen = (net.eval() for net in ccn.load_networks(paths))
    gen.latent = 2  # a 64 px check: the released model's 8x8 grid is for 256 px
    content_label, style_label = ccn.label(_face(seed=1), size=64), ccn.label(_face(seed=2), size=64)
    output, warped = ccn.translate(corr, gen, content_label, torch.rand(1, 3, 64, 64), style_label)
    assert output.shape == warped.shape == (1, 3, 64, 64)
    assert 0 <= output.min() and output.max() <= 1 and torch.isfinite(warped).all()


def test_warp_is_a_convex_combination_of_exemplar_colours(weights):
    corr = ccn.load_networks({name: weights / "cocosnet" / name for name in ccn.FILES})[0].eval()
    exemplar = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        warped = corr(exemplar, ccn.label(_face(), size=64), ccn.label(_face(seed=3), size=64))
    pooled = torch.nn.functional.avg_pool2d(exemplar, 4)
    assert warped.min() >= pooled.min() - 1e-5 and warped.max() <= pooled.max() + 1e-5


def test_unavailable_names_the_file_and_the_drive_folder(tmp_path):
    with pytest.raises(MethodUnavailable, match=r"needs latest_net_Corr.pth from https://drive.google.com/.*by hand"):
        ccn.stylize(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64),
                    config=ccn.CoCosNetConfig(weights_dir=str(tmp_path)))
