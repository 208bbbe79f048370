"""dtp_bench.statistics: the bootstrap interval and the paired sign-flip test, on cases whose answer
follows from the definitions."""

import numpy as np
import pytest

from dtp_bench import statistics


def test_interval_of_the_mean_lies_between_the_values_and_around_the_mean():
    values = np.array([0.41, 0.47, 0.52, 0.44, 0.60, 0.39])
    interval = statistics.mean_interval(values)
    # a percentile interval of resampled means: inside [min, max] of the values, around their mean
    assert values.min() <= interval.low < values.mean() < interval.high <= values.max()


def test_more_pairs_of_the_same_spread_give_a_narrower_interval():
    few = np.array([0.40, 0.45, 0.50, 0.55, 0.60])
    many = np.tile(few, 16)  # the same values, 16 times as many pairs
    width = lambda v: (lambda i: i.high - i.low)(statistics.mean_interval(v))
    # the standard error falls as 1/sqrt(n): 16x the pairs, ~4x narrower; 2x leaves room for resampling
    assert width(many) < width(few) / 2


def test_interval_needs_two_values_and_a_constant_sample_is_its_own_interval():
    assert statistics.mean_interval([0.5]) is None
    assert statistics.mean_interval([0.3, 0.3, 0.3]) == statistics.Interval(0.3, 0.3)


@pytest.mark.parametrize("n", [3, 5, 6, 10])
def test_a_difference_of_one_sign_on_every_pair_has_the_exact_permutation_p(n):
    """All 2^n sign patterns are equally likely under no difference; only the observed pattern and its
    mirror are as extreme, so the two-sided p is exactly 2 / 2^n (0.25 for 3 pairs)."""
    method = np.linspace(0.5, 0.9, n)
    result = statistics.paired(method, method - 0.05 - np.arange(n) * 0.01)
    assert result.n == n
    assert result.mean_difference == pytest.approx(0.05 + np.arange(n).mean() * 0.01)
    assert result.p_value == pytest.approx(2 / 2 ** n)
    assert 0 < result.interval.low <= result.mean_difference <= result.interval.high


def test_differences_that_cancel_are_no_evidence():
    result = statistics.paired([0.6, 0.4, 0.7, 0.3], [0.5, 0.5, 0.5, 0.5])  # +0.1 -0.1 +0.2 -0.2
    assert result.mean_difference == pytest.approx(0.0)
    assert result.p_value == pytest.approx(1.0)
    assert result.interval.low < 0 < result.interval.high


def test_paired_edge_cases_and_misuse():
    assert statistics.paired([], []).n == 0
    one = statistics.paired([0.7], [0.5])
    assert (one.n, one.interval, one.p_value) == (1, None, None) and one.mean_difference == pytest.approx(0.2)
    same = statistics.paired([0.2, 0.4], [0.2, 0.4])
    assert (same.mean_difference, same.p_value) == (0.0, 1.0)
    with pytest.raises(ValueError, match="one reference value per pair"):
        statistics.paired([0.1, 0.2, 0.3], [0.1, 0.2])


def test_the_same_numbers_give_the_same_interval():
    values = [0.2, 0.5, 0.4, 0.9]
    assert statistics.mean_interval(values) == statistics.mean_interval(list(values))


def test_rank_agreement_counts_pairs_of_methods():
    same = statistics.rank_agreement([0.1, 0.5, 0.9], [0.2, 0.6, 0.7])
    assert (same.tau, same.concordant, same.discordant, same.tied) == (pytest.approx(1.0), 3, 0, 0)
    reversed_ = statistics.rank_agreement([0.1, 0.5, 0.9], [0.7, 0.6, 0.2])
    assert (reversed_.tau, reversed_.discordant) == (pytest.approx(-1.0), 3)
    # one swap among four: 5 of 6 pairs alike, tau = (5 - 1) / 6
    one_swap = statistics.rank_agreement([1, 2, 3, 4], [1, 3, 2, 4])
    assert (one_swap.concordant, one_swap.discordant, one_swap.tau) == (5, 1, pytest.approx(4 / 6))
    tie = statistics.rank_agreement([0.1, 0.2, 0.3], [0.5, 0.5, 0.9])  # the paper's two decimals can tie
    assert (tie.concordant, tie.tied) == (2, 1)
    assert statistics.rank_agreement([0.3], [0.5]).tau is None
