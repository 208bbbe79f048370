"""Shared VGG helpers of the baselines: layer names, activations, Gram matrices, feature losses."""

import pytest
import torch
import torch.nn.functional as F

from baselines.vgg_losses import feature_loss, gram_loss, gram_matrix, layer_index, relu_indices, vgg_features
from dtp_core.backbone import VGGEncoder


@pytest.fixture(scope="module")
def random_vgg16():
    torch.manual_seed(0)
    return VGGEncoder("vgg16").eval().requires_grad_(False)


def test_relu_indices_are_torchvisions():
    vgg19, vgg16 = relu_indices("vgg19"), relu_indices("vgg16")
    assert (vgg19["relu1_1"], vgg19["relu2_1"], vgg19["relu3_1"], vgg19["relu4_1"], vgg19["relu4_2"], vgg19["relu5_1"]) \
        == (1, 6, 11, 20, 22, 29)
    assert (vgg16["relu4_1"], vgg16["relu4_2"], vgg16["relu4_3"], vgg16["relu5_3"]) == (18, 20, 22, 29)
    assert len(vgg19) == 16 and len(vgg16) == 13
    with pytest.raises(ValueError, match="relu3_4"):
        layer_index("vgg16", "relu3_4")


def test_features_match_the_encoders_taps(random_vgg16):
    x = torch.rand(1, 3, 32, 32)
    taps = random_vgg16(x)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    mine = vgg_features(random_vgg16, x, ["relu5_3", "relu1_2", "relu3_3"])
    assert torch.equal(mine[0], taps[4]) and torch.equal(mine[1], taps[0]) and torch.equal(mine[2], taps[2])


def test_average_pooling_changes_only_what_follows_a_pooling(random_vgg16):
    x = torch.rand(1, 3, 32, 32)
    first_max, deep_max = vgg_features(random_vgg16, x, ["relu1_2", "relu2_1"], "max")
    first_avg, deep_avg = vgg_features(random_vgg16, x, ["relu1_2", "relu2_1"], "avg")
    assert torch.equal(first_max, first_avg)
    assert deep_max.shape == deep_avg.shape and not torch.allclose(deep_max, deep_avg)
    with pytest.raises(ValueError, match="pooling"):
        vgg_features(random_vgg16, x, ["relu1_1"], "median")


def test_gram_matrix_is_the_position_averaged_channel_product():
    features = torch.randn(2, 4, 3, 5)
    flat = features.reshape(2, 4, 15)
    expected = torch.stack([f @ f.T for f in flat]) / 15
    gram = gram_matrix(features)
    assert gram.shape == (2, 4, 4)
    assert torch.allclose(gram, expected, atol=1e-6)
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert (torch.linalg.eigvalsh(gram) > -1e-5).all()  # positive semi-definite


def test_gram_matrix_ignores_where_things_are():
    features = torch.randn(1, 6, 8, 8)
    shuffled = features.flatten(2)[:, :, torch.randperm(64)].view_as(features)
    assert torch.allclose(gram_matrix(features), gram_matrix(shuffled), atol=1e-5)
    assert gram_loss(shuffled, gram_matrix(features)) < 1e-10
    # ... and its size: a tiled texture has the same Gram matrix as one tile.
    assert torch.allclose(gram_matrix(features.repeat(1, 1, 2, 3)), gram_matrix(features), atol=1e-5)


def test_losses_are_mean_squared_errors():
    a, b = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    assert torch.isclose(feature_loss(a, b), ((a - b) ** 2).mean())
    assert torch.isclose(gram_loss(a, gram_matrix(b)), F.mse_loss(gram_matrix(a), gram_matrix(b)))
