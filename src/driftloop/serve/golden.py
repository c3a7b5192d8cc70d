"""The served model's quality on the golden set, scored once when it loads and exported as
``driftloop_golden_metric{model, version, metric}``: the canary analysis compares the
canary's with the stable's (k8s/base/analysis-templates.yaml, canary-golden-quality)."""

from __future__ import annotations

import pandas as pd

from driftloop.config import GateSettings
from driftloop.gates import metrics
from driftloop.gates.policy import primary_metric_for
from driftloop.train.assess import evaluate_bundle
from driftloop.train.bundle import ModelBundle

__all__ = ["PRIMARY", "golden_metrics"]

PRIMARY = "primary"  # the gate policy's primary metric, under one name for every model
_BY_TASK = {
    "binary_classification": ("roc_auc", "accuracy", "f1_macro"),
    "multiclass_classification": ("accuracy", "f1_macro"),
    "regression": ("r2", "mae", "rmse"),
}


def golden_metrics(
    bundle: ModelBundle, frame: pd.DataFrame, settings: GateSettings
) -> dict[str, float]:
    """The task's metrics on ``frame``, plus ``primary`` when the policy's primary metric is
    one where higher is better (what the canary analysis compares as a ratio)."""
    evaluation = evaluate_bundle(bundle, frame, "golden")
    task = bundle.spec.task
    values = {
        name: metrics.metric_value(name, evaluation.y_true, evaluation.y_pred, evaluation.score)
        for name in _BY_TASK[task]
    }
    primary = primary_metric_for(task, settings)
    if primary not in metrics.LOWER_IS_BETTER:
        values[PRIMARY] = (
            values[primary]
            if primary in values
            else metrics.metric_value(
                primary, evaluation.y_true, evaluation.y_pred, evaluation.score
            )
        )
    return values
