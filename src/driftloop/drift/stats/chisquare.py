"""Two-sample chi-squared test of homogeneity on bin counts.

Equal to ``scipy.stats.chi2_contingency([ref, cur], correction=False)``: both samples are
random, so the test is on the 2 x B contingency table, not a goodness-of-fit against the
reference taken as exact. Bins empty on both sides are dropped.
"""

from __future__ import annotations

import numpy as np

from driftloop.drift.result import TestResult

__all__ = ["DEFAULT_ALPHA", "chisquare"]

DEFAULT_ALPHA = 0.05


def chisquare(
    reference_counts: np.ndarray, current_counts: np.ndarray, alpha: float = DEFAULT_ALPHA
) -> TestResult:
    from scipy import stats  # imported on use: a PSI-only run never loads scipy

    table = np.vstack([reference_counts, current_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    row = table.sum(axis=1, keepdims=True)
    if np.any(row <= 0):
        raise ValueError("chi-squared needs at least one counted value on each side")
    if table.shape[1] < 2:
        return TestResult("chisquare", 0.0, alpha, False, p_value=1.0)
    expected = row * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, table.shape[1] - 1))
    return TestResult("chisquare", statistic, alpha, p_value < alpha, p_value=p_value)
