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
from driftloop.drift.stats.ecdf import EcdfPair, ecdf_pair

__all__ = ["DEFAULT_THRESHOLD", "MIN_NORM", "wasserstein"]

DEFAULT_THRESHOLD = 0.1
MIN_NORM = 0.001
OVERFLOW_GUARD = 1e300


def wasserstein(
    reference_sorted: np.ndarray,
    current_sorted: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    ecdf: EcdfPair | None = None,
) -> TestResult:
    n, m = len(reference_sorted), len(current_sorted)
    if n == 0 or m == 0:
        raise ValueError("Wasserstein distance needs values on both sides")
    ends = (reference_sorted[0], reference_sorted[-1], current_sorted[0], current_sorted[-1])
    largest = float(max(abs(v) for v in ends))
    # Squares overflow from ~1e154 and differences near the float limit: compute the spread
    # on values divided by a power of two (exact), and the distance on scaled values too
    # when they are that extreme. The normalised distance does not depend on the scale.
    scale = math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > 1.0 else 1.0
    norm = max(float(np.std(reference_sorted / scale)) * scale, MIN_NORM)
    if largest > OVERFLOW_GUARD:
        pair = ecdf_pair(reference_sorted / scale, current_sorted / scale)
    else:
        pair, scale = ecdf or ecdf_pair(reference_sorted, current_sorted), 1.0
    scaled = float(np.sum(np.abs(pair.reference[:-1] - pair.current[:-1]) * np.diff(pair.values)))
    distance = scaled * scale
    # Capped so that a reference with no spread and huge current values stays a JSON number.
    score = (
        min(distance / norm, sys.float_info.max) if np.isfinite(distance) else sys.float_info.max
    )
    extra = {"distance": distance} if np.isfinite(distance) else {}
    return TestResult("wasserstein", score, threshold, score >= threshold, extra=extra)
