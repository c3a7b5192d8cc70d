"""Population Stability Index on bin counts.

PSI = sum_i (c_i - r_i) * ln(c_i / r_i) over bin proportions, each floored at ``FLOOR`` so
that an empty bin costs a finite amount. The Prometheus recording rules compute the same
expression with ``clamp_min(..., 0.0001)``, so both paths agree on the same counts.
"""

from __future__ import annotations

import numpy as np

from driftloop.drift.result import TestResult

__all__ = ["DEFAULT_THRESHOLD", "FLOOR", "noise_floor", "psi"]

DEFAULT_THRESHOLD = 0.1
FLOOR = 1e-4


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total <= 0:
        raise ValueError("PSI needs at least one counted value on each side")
    floored: np.ndarray = np.maximum(counts / total, FLOOR)
    return floored


def psi(
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> TestResult:
    """PSI of two aligned count vectors (same bins, same order)."""
    ref = _proportions(np.asarray(reference_counts, dtype=float))
    cur = _proportions(np.asarray(current_counts, dtype=float))
    score = float(np.sum((cur - ref) * np.log(cur / ref)))
    extra = {"noise_floor": noise_floor(reference_counts, current_counts)}
    return TestResult("psi", score, threshold, score >= threshold, extra=extra)


def noise_floor(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Expected PSI with no drift at all: about (B - 1) * (1/n + 1/m) for B occupied bins.

    PSI below this is indistinguishable from sampling noise at these sample sizes.
    """
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    occupied = int(np.count_nonzero((ref + cur) > 0))
    n, m = ref.sum(), cur.sum()
    if n <= 0 or m <= 0:
        return float("inf")
    return float(max(occupied - 1, 0) * (1.0 / n + 1.0 / m))
