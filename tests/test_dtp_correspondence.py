import pytest
import torch
import torch.nn.functional as F

from dtp_core.correspondence import center_l2_normalize, correlate, correlation_grid, patch_vectors


def test_center_l2_normalize_centres_and_normalises():
    x = torch.randn(4, 50, 7) * 3 + 2
    y = center_l2_normalize(x, dim=1)
    assert torch.allclose(y.mean(dim=1), torch.zeros(4, 7), atol=1e-6)
    assert torch.allclose(y.norm(dim=1), torch.ones(4, 7), atol=1e-5)


def test_spatial_centring_subtracts_the_mean_over_positions():
    x = torch.randn(2, 8, 30) + 5
    y = center_l2_normalize(x, dim=1, center_dim=2)
    centred = x - x.mean(dim=2, keepdim=True)
    assert torch.allclose(y, centred / centred.norm(dim=1, keepdim=True), atol=1e-6)
    assert not torch.allclose(y, center_l2_normalize(x, dim=1), atol=1e-3)


def test_patch_vectors_match_unfold():
    feature = torch.randn(1, 4, 6, 5)
    vectors = patch_vectors(feature, 3)
    assert vectors.shape == (1, 36, 30)
    expected = center_l2_normalize(F.unfold(feature, 3, padding=1), dim=1)
    assert torch.allclose(vectors, expected)


@pytest.mark.parametrize("center", ["vector", "spatial"])
def test_softmax_rows_sum_to_one_both_ways(center):
    match = correlate(torch.randn(1, 16, 8, 8), torch.randn(1, 16, 6, 6), temperature=0.01, center=center)
    assert match.to_content.shape == (1, 64, 36) and match.to_style.shape == (1, 36, 64)
    assert torch.allclose(match.to_content.sum(-1), torch.ones(1, 64), atol=1e-5)
    assert torch.allclose(match.to_style.sum(-1), torch.ones(1, 36), atol=1e-5)


def test_warp_onto_itself_is_near_identity_at_low_temperature():
    feature = torch.randn(1, 32, 10, 10)
    image = torch.rand(1, 3, 10, 10)
    match = correlate(feature, feature, temperature=0.01)
    assert torch.allclose(match.warp_to_content(image), image, atol=1e-3)
    assert torch.allclose(match.warp_to_style(image), image, atol=1e-3)
    blurred = correlate(feature, feature, temperature=10.0).warp_to_content(image)
    assert (blurred - image).abs().mean() > 0.05  # a high temperature averages: the test can fail


def test_warp_follows_a_known_permutation():
    feature = torch.randn(1, 32, 6, 6)
    perm = torch.randperm(36)
    shuffled = feature.flatten(2)[:, :, perm].view(1, 32, 6, 6)
    # 1x1 patches so that the permutation is an exact match of vectors
    match = correlate(feature, shuffled, temperature=0.001, kernel=1)
    image = torch.rand(1, 3, 6, 6)
    image_shuffled = image.flatten(2)[:, :, perm].view(1, 3, 6, 6)
    assert torch.allclose(match.warp_to_content(image_shuffled), image, atol=1e-4)


def test_correlation_grid():
    assert correlation_grid(64, 64, 64) == (64, 64)
    assert correlation_grid(32, 32, 64) == (32, 32)
    assert correlation_grid(128, 128, 64) == (64, 64)
    assert correlation_grid(128, 64, 64) == (64, 32)


def test_streamed_correspondence_equals_the_dense_one_with_gradients():
    torch.manual_seed(0)
    content = torch.randn(1, 16, 9, 9, requires_grad=True)
    style = torch.randn(1, 16, 9, 9, requires_grad=True)
    image = torch.rand(1, 3, 9, 9)
    results = []
    for chunk in (0, 20):  # 81 positions: dense, then five streamed chunks
        content.grad = style.grad = None
        match = correlate(content, style, temperature=0.05, chunk=chunk)
        warped = match.warp_to_content(torch.cat((style, image), 1))
        back = match.warp_to_style(warped)
        (warped.square().mean() + back.square().mean()).backward()
        results.append((type(match).__name__, warped.detach(), back.detach(), content.grad.clone(), style.grad.clone()))
    (dense_name, *dense), (streamed_name, *streamed) = results
    assert (dense_name, streamed_name) == ("Correspondence", "StreamedCorrespondence")
    for a, b in zip(dense, streamed):
        assert torch.allclose(a, b, atol=1e-5)
