"""How sure a table's numbers are: confidence intervals over pairs, and paired comparisons.

A cell of a table is a mean over the pairs of a dataset; what a reader needs to know is how much it
would move with another draw of pairs. Two tools, both from scipy.stats, both resampling the pairs
(no assumption that a metric is normally distributed, which SSIM near 1 or a Gram distance is not):

- `mean_interval`: the 95% percentile bootstrap interval of the mean over pairs. Percentile, not BCa:
  BCa's jackknife is undefined for the 2-5 pairs of a pilot. With few pairs the bootstrap interval
  is too narrow (it cannot see variation the pairs at hand do not show): n is printed beside it.
- `paired`: a method against a reference on the same pairs. The per-pair differences' mean, its
  bootstrap interval, and the two-sided p-value of the sign-flip permutation test (under "no
  difference" each pair's difference is as likely to have either sign); exact (all 2^n sign
  patterns) up to 13 pairs. With n pairs the smallest attainable p is 2 / 2^n: 0.25 for 3 pairs, so
  a pilot's p-values cannot reach 0.05 and its intervals are what to read.

Every resampling is seeded: the same metrics files give the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 1006


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def text(self, digits: int) -> str:
        return f"[{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class PairedComparison:
    n: int                          # pairs where both have a number
    mean_difference: float          # method - reference, averaged over those pairs
    interval: Interval | None       # bootstrap interval of that mean (None below 2 pairs)
    p_value: float | None           # sign-flip permutation test, two-sided (None below 2 pairs)


def mean_interval(values) -> Interval | None:
    """The 95% bootstrap interval of the mean of `values` (one per pair); None below 2 values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    if np.all(values == values[0]):  # scipy refuses a degenerate sample; its interval is the point
        return Interval(float(values[0]), float(values[0]))
    result = stats.bootstrap((values,), np.mean, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                             method="percentile", random_state=np.random.default_rng(SEED))
    return Interval(float(result.confidence_interval.low), float(result.confidence_interval.high))


def paired(method_values, reference_values) -> PairedComparison:
    """`method_values[i]` and `reference_values[i]` are the two methods' numbers on pair i."""
    method_values, reference_values = np.asarray(method_values, float), np.asarray(reference_values, float)
    if method_values.shape != reference_values.shape or method_values.ndim != 1:
        raise ValueError(f"need one reference value per pair: {method_values.shape} against {reference_values.shape}")
    differences = method_values - reference_values
    n = len(differences)
    if n == 0:
        return PairedComparison(0, float("nan"), None, None)
    mean = float(differences.mean())
    if n < 2:
        return PairedComparison(1, mean, None, None)
    if np.all(differences == 0):
        return PairedComparison(n, 0.0, Interval(0.0, 0.0), 1.0)
    test = stats.permutation_test((differences,), np.mean, permutation_type="samples", alternative="two-sided",
                                  n_resamples=RESAMPLES, random_state=np.random.default_rng(SEED))
    return PairedComparison(n, mean, mean_interval(differences), float(test.pvalue))


@dataclass(frozen=True)
class RankAgreement:
    tau: float | None               # Kendall's tau-b between the two sets of values (None below 2 rows)
    concordant: int                 # pairs of rows the two order alike
    discordant: int                 # pairs they order oppositely
    tied: int                       # pairs tied on either side (the paper prints two decimals)


def rank_agreement(ours, theirs) -> RankAgreement:
    """Do two sets of values (one per method) order the methods alike? Counted over every pair of
    methods; Kendall's tau-b (scipy), which discounts ties, summarises it in [-1, 1]."""
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    signs = [np.sign(ours[i] - ours[j]) * np.sign(theirs[i] - theirs[j])
             for i in range(len(ours)) for j in range(i + 1, len(ours))]
    tau = float(stats.kendalltau(ours, theirs).statistic) if len(ours) >= 2 else None
    return RankAgreement(None if tau is None or np.isnan(tau) else tau,
                         sum(s > 0 for s in signs), sum(s < 0 for s in signs), sum(s == 0 for s in signs))
