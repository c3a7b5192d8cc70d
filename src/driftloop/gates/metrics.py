"""Metric functions on arrays, and the paired bootstrap of a metric's difference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics

__all__ = [
    "LOWER_IS_BETTER",
    "bootstrap_auc_delta",
    "bootstrap_delta",
    "bootstrap_f1_macro_delta",
    "bootstrap_interval",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "metric_value",
    "per_class_f1",
    "percentile_interval",
    "weighted_auc",
    "weighted_f1_macro",
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
    return percentile_interval(np.asarray(values, dtype=float), confidence)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """The central ``confidence`` percentile interval of bootstrap deltas; None if none."""
    if len(values) == 0:
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


def weighted_f1_macro(
    y_true: np.ndarray, y_pred: np.ndarray, classes: int, weights: np.ndarray
) -> np.ndarray:
    """Macro F1 under row weights (``weights``: B x n), class codes 0..classes-1: per class
    2 TP / (actual + predicted), averaged over the classes a resample has at all (as
    scikit-learn's f1_score(average="macro") labels only classes present)."""
    actual_of = np.eye(classes)[y_true]
    predicted_of = np.eye(classes)[y_pred]
    actual, predicted = weights @ actual_of, weights @ predicted_of
    hits = weights @ (actual_of * predicted_of)
    total = actual + predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(total > 0, 2 * hits / total, np.nan)
    macro: np.ndarray = np.nanmean(f1, axis=1)
    return macro


def bootstrap_interval(
    statistic: Callable[[np.ndarray], np.ndarray], n: int, samples: int, confidence: float,
    seed: int = 0, chunk: int = 100,
) -> tuple[float, float] | None:  # fmt: skip
    """Percentile interval of ``statistic(weights)`` (e.g. candidate minus champion per
    resample) over resamples given as row counts, ``chunk`` resamples at a time."""
    if samples <= 0 or n == 0:
        return None
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, samples, chunk):
        size = min(chunk, samples - start)
        rows = rng.integers(0, n, (size, n))
        weights = np.zeros((size, n))
        np.add.at(weights, (np.repeat(np.arange(size), n), rows.ravel()), 1.0)
        delta = statistic(weights)
        deltas.append(delta[np.isfinite(delta)])
    return percentile_interval(np.concatenate(deltas), confidence)


def bootstrap_auc_delta(
    positive: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    samples: int,
    confidence: float,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile interval of AUC(candidate) - AUC(champion) over paired resamples."""

    def delta(weights: np.ndarray) -> np.ndarray:
        difference: np.ndarray = weighted_auc(positive, candidate, weights) - weighted_auc(
            positive, champion, weights
        )
        return difference

    return bootstrap_interval(delta, len(positive), samples, confidence, seed)


def bootstrap_f1_macro_delta(
    y_true: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    samples: int,
    confidence: float,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile interval of macro-F1(candidate) - macro-F1(champion) over paired resamples:
    one matrix product per chunk instead of a scikit-learn call per resample (~100x faster)."""
    labels = np.concatenate([y_true, candidate, champion]).astype(str)
    _, codes = np.unique(labels, return_inverse=True)
    k = int(codes.max()) + 1
    n = len(y_true)
    truth, cand, champ = codes[:n], codes[n : 2 * n], codes[2 * n :]

    def delta(weights: np.ndarray) -> np.ndarray:
        difference: np.ndarray = weighted_f1_macro(truth, cand, k, weights) - (
            weighted_f1_macro(truth, champ, k, weights)
        )
        return difference

    return bootstrap_interval(delta, n, samples, confidence, seed)
