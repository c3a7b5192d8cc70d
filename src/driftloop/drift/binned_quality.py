"""Model quality from binned scores: realised AUC from labelled feedback, and a label-free
estimate from calibrated scores (confidence-based performance estimation).

Scores fall into the bins of the reference prediction profile (right-closed, ascending;
``missing`` last and always empty for a score). AUC from bin counts is the Mann-Whitney
statistic with ties inside a bin counted half:

    AUC = sum_b pos_b * (neg_below_b + neg_b / 2) / (P * N)

which equals scikit-learn's ``roc_auc_score`` on the bin indices. The recording rules compute
the same sum from counters (``driftloop.generate.rules``); ``neg_below`` is exported as a counter of
its own because PromQL cannot sum over "the bins below this one".

The estimate follows NannyML's CBPE (docs: "Confidence-based Performance Estimation"): with
scores calibrated on labelled reference data, a scored row in bin b is a positive with
probability c_b, so the expected confusion counts, and the AUC of the expected counts, need
no labels. It is right as long as P(y | score) has not changed: covariate shift moves it,
concept drift does not (only realised labels see that).
"""

from __future__ import annotations

import numpy as np

__all__ = ["below", "binned_auc", "calibration", "expected_positives"]


def below(counts: np.ndarray) -> np.ndarray:
    """Per bin, the sum over the bins strictly below it."""
    counts = np.asarray(counts, dtype=float)
    return np.concatenate([[0.0], np.cumsum(counts)[:-1]])


def binned_auc(negatives: np.ndarray, positives: np.ndarray) -> float | None:
    """AUC from per-bin counts of negatives and positives; None when a class is absent."""
    negatives = np.asarray(negatives, dtype=float)
    positives = np.asarray(positives, dtype=float)
    n, p = negatives.sum(), positives.sum()
    if n <= 0 or p <= 0:
        return None
    return float((positives * (below(negatives) + negatives / 2)).sum() / (n * p))


def calibration(bins: np.ndarray, positive: np.ndarray, n_bins: int) -> np.ndarray:
    """P(positive | score bin) on labelled reference rows, as histogram-binning calibration,
    with one pseudo-row of each class per bin (an empty bin reads 0.5, never 0 or 1)."""
    rows = np.bincount(bins, minlength=n_bins).astype(float)
    hits = np.bincount(bins, weights=positive.astype(float), minlength=n_bins)
    return (hits + 1.0) / (rows + 2.0)


def expected_positives(counts: np.ndarray, calibrated: np.ndarray) -> np.ndarray:
    """Expected positives per bin among ``counts`` scored rows."""
    expected: np.ndarray = np.asarray(counts, dtype=float) * np.asarray(calibrated, dtype=float)
    return expected
