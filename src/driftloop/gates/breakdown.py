"""What a model card reports beyond the gates: each metric with a bootstrap confidence
interval, F1 per class and the metrics per group of the sensitive attribute."""

from __future__ import annotations

from typing import Any

import numpy as np

from driftloop.gates.evaluation import Evaluation
from driftloop.gates.metrics import (
    metric_value,
    per_class_f1,
    percentile_interval,
    weighted_auc,
    weighted_f1_macro,
)

__all__ = ["breakdown", "metric_names", "weighted_metric"]

# Resamples for the card's intervals (vectorised: a fraction of a second per dataset).
CARD_RESAMPLES = 1000


def metric_names(task: str) -> tuple[str, ...]:
    if task == "regression":
        return ("r2", "rmse", "mae")
    if task == "binary_classification":
        return ("roc_auc", "accuracy", "f1_macro", "brier")
    return ("accuracy", "f1_macro")


def _value(name: str, e: Evaluation, rows: np.ndarray | None = None) -> float:
    if rows is None:
        return metric_value(name, e.y_true, e.y_pred, e.score)
    return metric_value(name, e.y_true[rows], e.y_pred[rows], e.score[rows])


def weighted_metric(
    name: str, e: Evaluation, weights: np.ndarray, positive: object = None
) -> np.ndarray:
    """``name`` on each bootstrap resample given as row counts (``weights``: B x n), all at
    once; equal to the metric on the resampled rows (tests/unit/test_breakdown.py)."""
    n = weights.sum(axis=1)
    if name in ("rmse", "mae", "r2"):
        return _weighted_regression(name, e, weights, n)
    if name == "roc_auc":
        return weighted_auc(e.y_true == positive, e.score, weights)
    if name == "f1_macro":
        labels = np.concatenate([e.y_true, e.y_pred]).astype(str)
        _, codes = np.unique(labels, return_inverse=True)
        k, rows = int(codes.max()) + 1, len(e.y_true)
        return weighted_f1_macro(codes[:rows], codes[rows:], k, weights)
    if name not in ("accuracy", "brier"):
        raise ValueError(f"unknown metric {name!r}")
    hits = (e.y_true == e.y_pred) if name == "accuracy" else (e.score - (e.y_true == positive)) ** 2
    return np.asarray(weights @ np.asarray(hits, dtype=float) / n)  # accuracy, brier


def _weighted_regression(
    name: str, e: Evaluation, weights: np.ndarray, n: np.ndarray
) -> np.ndarray:
    y = e.y_true.astype(float)
    error = e.score.astype(float) - y
    if name == "rmse":
        return np.asarray(np.sqrt(weights @ error**2 / n))
    if name == "mae":
        return np.asarray(weights @ np.abs(error) / n)
    mean = weights @ y / n
    total = weights @ y**2 - n * mean**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(1 - (weights @ error**2) / total)


def _intervals(
    e: Evaluation, names: tuple[str, ...], samples: int, confidence: float, positive: object,
    chunk: int = 100,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each metric with its percentile interval; every metric reads the same resamples."""
    rng = np.random.default_rng(0)
    drawn: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, samples if e.rows else 0, chunk):
        rows = rng.integers(0, e.rows, (min(chunk, samples - start), e.rows))
        weights = np.stack([np.bincount(r, minlength=e.rows) for r in rows]).astype(float)
        for name in names:
            values = weighted_metric(name, e, weights, positive)
            drawn[name].append(values[np.isfinite(values)])
    out = {}
    for name in names:
        try:
            value: float | None = _value(name, e)
        except ValueError:  # one class only: no AUC
            value = None
        interval = None
        if drawn[name] and value is not None:
            interval = percentile_interval(np.concatenate(drawn[name]), confidence)
        out[name] = {"value": value, "ci": list(interval) if interval else None}
    return out


def breakdown(
    e: Evaluation, task: str, samples: int = CARD_RESAMPLES, confidence: float = 0.95,
    positive: object = 1,
) -> dict[str, Any]:  # fmt: skip
    """One model on one dataset, for its card; ``samples`` bootstrap resamples of its rows;
    ``positive`` the positive class of a binary classifier."""
    names = metric_names(task)
    out: dict[str, Any] = {
        "rows": e.rows,
        "confidence": confidence,
        "metrics": _intervals(e, names, samples, confidence, positive),
    }  # fmt: skip
    if task != "regression":
        out["per_class_f1"] = per_class_f1(e.y_true, e.y_pred)
    if e.groups is not None:
        groups: dict[str, Any] = {}
        for group in np.unique(e.groups.astype(str)):
            rows = np.flatnonzero(e.groups.astype(str) == group)
            values: dict[str, Any] = {"rows": len(rows)}
            for name in names:
                try:
                    values[name] = _value(name, e, rows)
                except ValueError:
                    values[name] = None
            groups[group] = values
        out["per_group"] = groups
    return out
