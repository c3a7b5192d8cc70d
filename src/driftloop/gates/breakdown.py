"""What a model card reports beyond the gates: each metric with a bootstrap confidence
interval, F1 per class and the metrics per group of the sensitive attribute."""

from __future__ import annotations

from typing import Any

import numpy as np

from driftloop.gates.evaluation import Evaluation
from driftloop.gates.metrics import bootstrap_delta, metric_value, per_class_f1

__all__ = ["breakdown", "metric_names"]

# Enough resamples for a 95% interval to two decimals, cheap beside the gate's own bootstrap.
CARD_RESAMPLES = 200


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


def _with_interval(name: str, e: Evaluation, samples: int, confidence: float) -> dict[str, Any]:
    try:
        value = _value(name, e)
    except ValueError:  # one class only: no AUC
        return {"value": None, "ci": None}
    interval = bootstrap_delta(lambda rows: _value(name, e, rows), e.rows, samples, confidence)
    return {"value": value, "ci": list(interval) if interval else None}


def breakdown(
    e: Evaluation, task: str, samples: int = CARD_RESAMPLES, confidence: float = 0.95
) -> dict[str, Any]:
    """One model on one dataset, for its card; ``samples`` bootstrap resamples of its rows."""
    names = metric_names(task)
    out: dict[str, Any] = {
        "rows": e.rows,
        "confidence": confidence,
        "metrics": {name: _with_interval(name, e, samples, confidence) for name in names},
    }
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
