"""First Wasserstein distance normalised by the reference standard deviation.

Takes sorted samples (the engine sorts each column once for every raw test). Equals
``scipy.stats.wasserstein_distance(ref, cur) / max(std(ref), 0.001)``, Evidently's
``wasserstein`` normalisation.
"""

from __future__ import annotations

import numpy as np

from driftloop.drift.result import TestResult

__all__ = ["DEFAULT_THRESHOLD", "MIN_NORM", "wasserstein"]

DEFAULT_THRESHOLD = 0.1
MIN_NORM = 0.001


def wasserstein(
    reference_sorted: np.ndarray,
    current_sorted: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> TestResult:
    n, m = len(reference_sorted), len(current_sorted)
    if n == 0 or m == 0:
        raise ValueError("Wasserstein distance needs values on both sides")
    # Concatenating two sorted runs makes the stable sort a linear merge.
    merged = np.sort(np.concatenate([reference_sorted, current_sorted]), kind="stable")
    ref_cdf = np.searchsorted(reference_sorted, merged[:-1], side="right") / n
    cur_cdf = np.searchsorted(current_sorted, merged[:-1], side="right") / m
    distance = float(np.sum(np.abs(ref_cdf - cur_cdf) * np.diff(merged)))
    norm = max(float(np.std(reference_sorted)), MIN_NORM)
    score = distance / norm
    return TestResult("wasserstein", score, threshold, score >= threshold, extra={"distance": distance})
