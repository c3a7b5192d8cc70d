"""Jensen-Shannon distance (natural log, so in [0, sqrt(ln 2)]) between bin proportions."""

from __future__ import annotations

import numpy as np

from driftloop.drift.result import TestResult

__all__ = ["DEFAULT_THRESHOLD", "jensenshannon"]

DEFAULT_THRESHOLD = 0.1


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def jensenshannon(
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> TestResult:
    p = np.asarray(reference_counts, dtype=float)
    q = np.asarray(current_counts, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    divergence = max((_kl(p, m) + _kl(q, m)) / 2.0, 0.0)
    score = float(np.sqrt(divergence))
    return TestResult("jensenshannon", score, threshold, score >= threshold)
