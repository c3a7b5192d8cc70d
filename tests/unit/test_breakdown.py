"""The card's bootstrap intervals are computed on all resamples at once; each resample's
value must be the metric of the resampled rows, as scikit-learn computes it."""

from __future__ import annotations

import numpy as np
import pytest

from driftloop.gates.breakdown import breakdown, metric_names, weighted_metric
from driftloop.gates.evaluation import Evaluation
from driftloop.gates.metrics import metric_value

RNG = np.random.default_rng(4)


def _evaluation(task: str, n: int = 300) -> Evaluation:
    if task == "regression":
        y = RNG.normal(10, 3, n)
        return Evaluation("d", y, y + RNG.normal(0, 1, n), y + RNG.normal(0, 1, n))
    classes = 2 if task == "binary_classification" else 3
    y = RNG.integers(0, classes, n)
    predicted = np.where(RNG.random(n) < 0.7, y, RNG.integers(0, classes, n))
    score = np.clip(0.6 * (y == classes - 1) + 0.4 * RNG.random(n), 0, 1)
    score[:10] = 0.5  # ties, as binned scores have
    return Evaluation("d", y, predicted, score, groups=RNG.integers(0, 2, n))


@pytest.mark.parametrize("task", ["binary_classification", "multiclass_classification",
                                  "regression"])  # fmt: skip
def test_each_resample_equals_the_metric_of_its_rows(task: str) -> None:
    e = _evaluation(task)
    resamples = [RNG.integers(0, e.rows, e.rows) for _ in range(5)]
    weights = np.stack([np.bincount(rows, minlength=e.rows) for rows in resamples]).astype(float)
    for name in metric_names(task):
        fast = weighted_metric(name, e, weights, positive=1)
        slow = [metric_value(name, e.y_true[r], e.y_pred[r], e.score[r]) for r in resamples]
        assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12), name


def test_intervals_cover_the_value_and_narrow_with_rows() -> None:
    small, large = (
        _evaluation("binary_classification", 200),
        _evaluation("binary_classification", 5000),
    )
    wide = breakdown(small, "binary_classification")["metrics"]["roc_auc"]
    narrow = breakdown(large, "binary_classification")["metrics"]["roc_auc"]
    assert wide["ci"][0] < wide["value"] < wide["ci"][1]
    assert narrow["ci"][1] - narrow["ci"][0] < (wide["ci"][1] - wide["ci"][0]) / 2
    groups = breakdown(large, "binary_classification")["per_group"]
    assert sum(g["rows"] for g in groups.values()) == 5000
