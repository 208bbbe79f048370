import torch
import torch.nn.functional as F

from dtp_core.losses import contrastive_loss, cycle_loss, gather_patches, nearest_neighbour_style_loss, sample_positions


def test_sample_positions_are_distinct_and_capped():
    g = torch.Generator().manual_seed(0)
    ids = sample_positions(5000, 2048, g)
    assert ids.numel() == 2048 and ids.unique().numel() == 2048 and ids.max() < 5000
    assert sorted(sample_positions(100, 2048, g).tolist()) == list(range(100))


def test_gather_patches_equals_unfold_then_select():
    feature = torch.randn(1, 5, 9, 7)
    ids = torch.tensor([0, 6, 7, 30, 62, 8, 55])
    for kernel in (1, 3):
        unfolded = F.unfold(feature, kernel, padding=kernel // 2)[0, :, ids].t()
        assert torch.equal(gather_patches(feature, ids, kernel), unfolded)


def test_infonce_lower_for_matching_than_shuffled_features():
    torch.manual_seed(0)
    content = torch.randn(256, 64)
    output = content + 0.1 * torch.randn(256, 64)
    matching = contrastive_loss(content, output)
    shuffled = contrastive_loss(content, output[torch.randperm(256)])
    assert matching < 0.1 < shuffled
    assert shuffled > 3.0  # about log(256) for unrelated vectors


def test_infonce_masks_the_diagonal():
    content = torch.randn(16, 8)
    # with the positive's own slot masked at -10, identical inputs give a loss well below log(17)
    assert contrastive_loss(content, content, temperature=0.07) < 0.5


def test_style_loss_is_zero_when_output_equals_style():
    style = torch.randn(300, 27)
    assert nearest_neighbour_style_loss(style, style.clone()).abs() < 1e-6
    assert nearest_neighbour_style_loss(style, style[torch.randperm(300)]).abs() < 1e-6  # NN is order-free
    assert nearest_neighbour_style_loss(style, torch.randn(300, 27)) > 0.3


def test_style_loss_paper_reading_is_squared_distance_to_nearest():
    style = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    output = torch.tensor([[1.0, 0.0], [9.0, 1.0]])
    # nearest: (0,0) for the first, (10,0) for the second: (1 + 2) / 2
    assert torch.isclose(nearest_neighbour_style_loss(style, output, distance="squared_l2"), torch.tensor(1.5))


def test_cycle_loss_is_the_sum_of_both_mses():
    a, b, c, d = (torch.rand(1, 3, 8, 8) for _ in range(4))
    assert cycle_loss(a, a, c, c) == 0
    assert torch.isclose(cycle_loss(a, b, c, d), F.mse_loss(a, b) + F.mse_loss(c, d))
