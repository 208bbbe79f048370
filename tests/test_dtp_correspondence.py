import pytest
import torch
import torch.nn.functional as F

from dtp_core.correspondence import (center_l2_normalize, correlate, correlation_grid, diagonal_shift_sum, patch_cosines,
                                     patch_vectors)


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


def _features(shape, dtype=torch.float64, seed=0):
    """ReLU features (non-negative, so the means are large and the centring cancels), with a block of
    exact zeros (all-zero patches: cosine 0 in both forms)."""
    generator = torch.Generator().manual_seed(seed)
    feature = torch.relu(torch.randn(shape, generator=generator, dtype=dtype) + 0.5)
    feature[..., :3, :3] = 0
    return feature


@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("shapes", [((1, 8, 6, 6), (1, 8, 6, 6)), ((2, 5, 7, 4), (2, 5, 3, 9)), ((1, 4, 2, 1), (1, 4, 5, 5))],
                         ids=["square", "batch-of-2-uneven-grids", "maps-smaller-than-the-kernel"])
def test_patch_cosines_equal_the_products_of_patch_vectors(shapes, kernel):
    content, style = _features(shapes[0]), _features(shapes[1], seed=1)
    expected = torch.bmm(patch_vectors(content, kernel).transpose(1, 2), patch_vectors(style, kernel))
    # float64: both forms are exact up to a few hundred roundings of 2^-53 of values of order 1
    assert torch.allclose(patch_cosines(content, style, kernel), expected, rtol=0, atol=1e-12)


def test_diagonal_shift_sum_is_its_own_adjoint_and_patch_cosines_gradients_are_exact():
    products, other = torch.randn(2, 1, 4, 5, 3, 6, dtype=torch.float64).unbind(0)
    # <S a, b> = <a, S b>: what the hand-written backward relies on
    assert torch.allclose((diagonal_shift_sum(products, 3) * other).sum(), (products * diagonal_shift_sum(other, 3)).sum())
    # Gaussian features: every centred norm is away from zero, where the finite differences hold.
    content, style = (torch.randn(shape, dtype=torch.float64, requires_grad=True) for shape in ((1, 3, 4, 5), (1, 3, 3, 6)))
    torch.autograd.gradcheck(lambda c, s: patch_cosines(c, s, 3), (content, style))


def test_patch_cosines_in_fp32_are_within_the_rounding_of_their_cancellation():
    content, style = _features((1, 64, 16, 16)), _features((1, 64, 16, 16), seed=1)
    exact = patch_cosines(content, style, 3)
    fast = patch_cosines(content.float(), style.float(), 3).double()
    # Each cosine is (p.q - D m_p m_q) / (n_p n_q): fp32 sums of D = 576 products err by at most
    # gamma_D = D * 2^-24 of |p||q| (a standard dot-product bound), and the norms |p|^2 - D m^2 by as
    # much of |p|^2. Relative to the cosine's scale n_p n_q that is gamma_D times the cancellation
    # ratio |p||q| / (n_p n_q), and half of it per norm: 2 gamma_D ratio in all, and it can fail.
    vectors = [F.unfold(f, 3, padding=1) for f in (content, style)]
    norms = [v.norm(dim=1) for v in vectors]
    centred = [(v - v.mean(dim=1, keepdim=True)).norm(dim=1).clamp_min(1e-12) for v in vectors]
    ratio = (norms[0] / centred[0]).transpose(0, 1) * (norms[1] / centred[1])
    gamma = 576 * 2.0 ** -24
    assert ((fast - exact).abs() <= 2 * gamma * ratio).all()
    assert (fast - exact).abs().max() > 0  # fp32 did round: the comparison is not vacuous


def test_patch_cosines_of_an_all_zero_patch_are_zero_with_finite_gradients():
    content, style = _features((1, 4, 6, 6)).requires_grad_(), _features((1, 4, 6, 6), seed=1).requires_grad_()
    cosines = patch_cosines(content, style, 3)
    assert (cosines[0, 0] == 0).all() and (cosines[0, :, 0] == 0).all()  # position (0, 0): a zero patch
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(cosines.sum(), (content, style)))


def test_patch_cosines_under_vmap_match_one_pair_at_a_time():
    # Gaussian features: no zero patch, whose gradients are of order 1 / EPS and equal only roughly.
    contents, styles = (torch.randn(shape, dtype=torch.float64, requires_grad=True) for shape in ((3, 1, 4, 6, 6), (3, 1, 4, 5, 7)))
    mapped = torch.func.vmap(lambda c, s: patch_cosines(c, s, 3))(contents, styles)
    looped = torch.stack([patch_cosines(c, s, 3) for c, s in zip(contents, styles)])
    assert torch.allclose(mapped, looped, rtol=0, atol=1e-12)
    weights = torch.randn_like(mapped)
    grads_mapped = torch.autograd.grad((mapped * weights).sum(), (contents, styles))
    grads_looped = torch.autograd.grad((looped * weights).sum(), (contents, styles))
    assert all(torch.allclose(a, b, rtol=0, atol=1e-10) for a, b in zip(grads_mapped, grads_looped))
