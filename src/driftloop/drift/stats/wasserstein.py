"""First Wasserstein distance normalised by the reference standard deviation.

Takes sorted samples (the engine sorts each column once for every raw test). Equals
``scipy.stats.wasserstein_distance(ref, cur) / max(std(ref), 0.001)``, Evidently's
``wasserstein`` normalisation.
"""

from __future__ import annotations

import math
import sys

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
    # The normalised distance is scale-free: divide by a power of two (exact) so that values
    # near the float limit cannot overflow in differences or in the standard deviation.
    ends = (reference_sorted[0], reference_sorted[-1], current_sorted[0], current_sorted[-1])
    largest = float(max(abs(v) for v in ends))
    scale = math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > 1.0 else 1.0
    reference_sorted, current_sorted = reference_sorted / scale, current_sorted / scale
    # Concatenating two sorted runs makes the stable sort a linear merge.
    merged = np.sort(np.concatenate([reference_sorted, current_sorted]), kind="stable")
    ref_cdf = np.searchsorted(reference_sorted, merged[:-1], side="right") / n
    cur_cdf = np.searchsorted(current_sorted, merged[:-1], side="right") / m
    distance = float(np.sum(np.abs(ref_cdf - cur_cdf) * np.diff(merged)))
    norm = max(float(np.std(reference_sorted)), MIN_NORM / scale)
    # Capped so that a reference with no spread and huge current values stays a JSON number.
    score = min(distance / norm, sys.float_info.max)
    extra = {"distance": distance * scale} if np.isfinite(distance * scale) else {}
    return TestResult("wasserstein", score, threshold, score >= threshold, extra=extra)
