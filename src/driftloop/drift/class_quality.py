"""Label-free multiclass quality: NannyML's CBPE for multiclass models, one class against
the rest (NannyML docs, "How it works: Performance estimation", multiclass section and its
probability-calibration appendix).

Each class's probability is calibrated on held-out reference rows by histogram binning
(``CLASS_BINS`` equal-width bins on [0, 1]); an empty bin reads its own midpoint, the model's
uncalibrated word. A scored row's calibrated probabilities are then normalised to sum to 1,
as NannyML does. With c_k the calibrated probability of class k, over the scored rows:

    hits_k   = sum of c_k over rows served k       (expected true positives)
    rows_k   = sum of c_k over all rows            (expected actual rows: TP + FN)
    served_k = rows served k                       (TP + FP, known without labels)
    F1_k     = 2 hits_k / (served_k + rows_k)
    accuracy = sum over rows of c_(served class) / rows

Macro-F1 is the mean of F1_k over classes with served_k + rows_k > 0, as the realised rule
leaves out a class with no rows. The server counts hits_k and rows_k; the recording rules
take served_k from the prediction bins. Right while P(y | probabilities) holds: covariate
shift moves the estimate, concept drift does not (only labels see that).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "CLASS_BINS",
    "calibrate",
    "class_calibration",
    "expected_counts",
    "f1_macro_of_counts",
    "parse_class_calibration",
]

CLASS_BINS = 10


def _bins(probabilities: np.ndarray, n_bins: int) -> np.ndarray:
    scaled = np.asarray(probabilities, dtype=float) * n_bins
    index: np.ndarray = np.minimum(np.maximum(scaled, 0).astype(np.int64), n_bins - 1)
    return index


def class_calibration(
    probabilities: np.ndarray, actual: np.ndarray, n_bins: int = CLASS_BINS
) -> np.ndarray:
    """P(class k | its probability's bin) per class (rows) and bin (columns), from held-out
    rows' probabilities (n, classes) and actual class indices (n,), with one pseudo-row at
    the bin's midpoint."""
    probabilities = np.asarray(probabilities, dtype=float)
    midpoints = (np.arange(n_bins) + 0.5) / n_bins
    table = np.empty((probabilities.shape[1], n_bins))
    for k in range(probabilities.shape[1]):
        index = _bins(probabilities[:, k], n_bins)
        rows = np.bincount(index, minlength=n_bins)
        hits = np.bincount(index, weights=(actual == k).astype(float), minlength=n_bins)
        table[k] = (hits + midpoints) / (rows + 1.0)
    return table


def calibrate(probabilities: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Each row's calibrated class probabilities, normalised to sum to 1."""
    probabilities = np.asarray(probabilities, dtype=float)
    index = _bins(probabilities, table.shape[1])
    calibrated: np.ndarray = table[np.arange(table.shape[0]), index]
    total = calibrated.sum(axis=1, keepdims=True)
    calibrated /= np.maximum(total, 1e-300)  # every bin reads > 0, so total > 0
    return calibrated


def expected_counts(calibrated: np.ndarray, served: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hits_k, rows_k) per class from calibrated probabilities and served class indices."""
    n_classes = calibrated.shape[1]
    own = calibrated[np.arange(len(served)), served]
    hits = np.bincount(served, weights=own, minlength=n_classes)
    return hits, calibrated.sum(axis=0)


def f1_macro_of_counts(hits: np.ndarray, rows: np.ndarray, served: np.ndarray) -> float | None:
    """Macro-F1 from per-class expected hits, expected rows and served counts (as the rules
    compute it); None when no class has a row."""
    union = np.asarray(served, dtype=float) + np.asarray(rows, dtype=float)
    present = union > 0
    if not present.any():
        return None
    return float(np.mean(2 * np.asarray(hits)[present] / union[present]))


def parse_class_calibration(data: Any, key: str) -> dict[str, tuple[float, ...]]:
    """``{class: [P per bin]}`` from a profile: probabilities, the same number of bins for
    every class; ValueError or TypeError naming ``key`` otherwise."""
    if not isinstance(data, dict):
        raise TypeError(f"{key} maps each class to its calibrated probabilities")
    table = {}
    for name, values in data.items():
        if not isinstance(values, list) or not all(isinstance(p, int | float) for p in values):
            raise TypeError(f"{key}.{name}: a list of probabilities expected")
        table[str(name)] = tuple(float(p) for p in values)
    sizes = {len(values) for values in table.values()}
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError(f"{key}: every class needs the same number of bins (at least one)")
    if not all(0 <= p <= 1 for values in table.values() for p in values):  # NaN fails too
        raise ValueError(f"{key} holds probabilities (0 to 1)")
    return table
