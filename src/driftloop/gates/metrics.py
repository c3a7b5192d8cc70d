"""Metric functions on arrays, and the paired bootstrap of a metric's difference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics

__all__ = [
    "LOWER_IS_BETTER",
    "bootstrap_delta",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "metric_value",
    "per_class_f1",
]

LOWER_IS_BETTER = frozenset({"rmse", "mae", "brier"})


def _rmse(y_true: np.ndarray, score: np.ndarray) -> float:
    return float(np.sqrt(metrics.mean_squared_error(y_true, score)))


# metric -> (function, takes the score rather than the predicted label)
_METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "roc_auc": (metrics.roc_auc_score, True),
    "r2": (metrics.r2_score, True),
    "rmse": (_rmse, True),
    "mae": (metrics.mean_absolute_error, True),
    "brier": (metrics.brier_score_loss, True),
    "accuracy": (metrics.accuracy_score, False),
    "f1_macro": (lambda y, p: metrics.f1_score(y, p, average="macro"), False),
}


def metric_value(name: str, y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray) -> float:
    try:
        function, on_score = _METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}") from None
    return float(function(y_true, score if on_score else y_pred))


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    labels = np.unique(np.concatenate([y_true, y_pred]))
    scores = metrics.f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0)
    return {str(label): float(score) for label, score in zip(labels, scores, strict=True)}


def _rates(
    mask_rows: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, positive: object
) -> list[float]:
    rates = []
    for group in np.unique(groups):
        rows = mask_rows & (groups == group)
        if rows.any():
            rates.append(float(np.mean(y_pred[rows] == positive)))
    return rates


def demographic_parity_difference(
    y_pred: np.ndarray, groups: np.ndarray, positive: object
) -> float:
    """Largest gap in positive-prediction rate between groups."""
    rates = _rates(np.ones(len(y_pred), dtype=bool), y_pred, groups, positive)
    return max(rates) - min(rates) if len(rates) > 1 else 0.0


def equal_opportunity_difference(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, positive: object
) -> float:
    """Largest gap in true-positive rate (recall of the positive class) between groups."""
    rates = _rates(y_true == positive, y_pred, groups, positive)
    return max(rates) - min(rates) if len(rates) > 1 else 0.0


def bootstrap_delta(
    statistic: Callable[[np.ndarray], float],
    n_rows: int,
    samples: int,
    confidence: float,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile interval of ``statistic(rows)`` over paired bootstrap resamples of row
    indices; ``statistic`` computes candidate minus champion on the given rows, so both
    models are always judged on the same resampled rows. None when ``samples`` is 0."""
    if samples <= 0 or n_rows == 0:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        rows = rng.integers(0, n_rows, n_rows)
        try:
            values.append(statistic(rows))
        except ValueError:  # a resample with one class only has no AUC
            continue
    if not values:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _tie_groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    return order, starts


def weighted_auc(positive: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC under row weights, for many weight vectors at once (``weights``: B x n).

    Rows are sorted by score once; with counts from a bootstrap resample as weights this is
    that resample's AUC (ties count one half, as in roc_auc_score)."""
    order, starts = _tie_groups(score)
    w = weights[:, order]
    pos = positive[order].astype(float)
    pos_w, neg_w = w * pos, w * (1.0 - pos)
    pos_group = np.add.reduceat(pos_w, starts, axis=1)
    neg_group = np.add.reduceat(neg_w, starts, axis=1)
    neg_below = np.cumsum(neg_group, axis=1) - neg_group
    pairs = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    won = np.sum(pos_group * (neg_below + 0.5 * neg_group), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc: np.ndarray = won / pairs
    return auc


def bootstrap_auc_delta(
    positive: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    samples: int,
    confidence: float,
    seed: int = 0,
    chunk: int = 100,
) -> tuple[float, float] | None:
    """Percentile interval of AUC(candidate) - AUC(champion) over paired resamples."""
    n = len(positive)
    if samples <= 0 or n == 0:
        return None
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, samples, chunk):
        size = min(chunk, samples - start)
        rows = rng.integers(0, n, (size, n))
        weights = np.zeros((size, n))
        np.add.at(weights, (np.repeat(np.arange(size), n), rows.ravel()), 1.0)
        delta = weighted_auc(positive, candidate, weights) - weighted_auc(
            positive, champion, weights
        )
        deltas.append(delta[np.isfinite(delta)])
    values = np.concatenate(deltas)
    if len(values) == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
