"""Metrics of a fitted model on labelled data."""

from __future__ import annotations

import numpy as np
from sklearn import metrics

from driftloop.config.model import Task

__all__ = ["evaluate", "primary_metric"]


def primary_metric(task: Task) -> str:
    return {"binary_classification": "roc_auc", "multiclass_classification": "f1_macro"}.get(
        task, "r2"
    )


def evaluate(
    task: Task, y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> dict[str, float]:
    """roc_auc/accuracy/f1/brier for classification, r2/rmse/mae for regression."""
    if task == "regression":
        return {
            "r2": float(metrics.r2_score(y_true, y_pred)),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
            "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        }
    result = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
    }
    if task == "binary_classification" and y_score is not None and len(np.unique(y_true)) == 2:
        result["roc_auc"] = float(metrics.roc_auc_score(y_true, y_score))
        result["brier"] = float(metrics.brier_score_loss(y_true, y_score))
    return result
