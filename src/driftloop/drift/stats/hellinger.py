"""Hellinger distance between bin proportions: sqrt(1 - sum sqrt(p q)), in [0, 1]."""

from __future__ import annotations

import numpy as np

from driftloop.drift.result import TestResult

__all__ = ["DEFAULT_THRESHOLD", "hellinger"]

DEFAULT_THRESHOLD = 0.1


def hellinger(
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> TestResult:
    p = np.asarray(reference_counts, dtype=float)
    q = np.asarray(current_counts, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    coefficient = float(np.sum(np.sqrt(p * q)))
    score = float(np.sqrt(max(1.0 - coefficient, 0.0)))
    return TestResult("hellinger", score, threshold, score >= threshold)
