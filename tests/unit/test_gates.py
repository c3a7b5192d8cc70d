"""The pure gate logic on small hand-built evaluations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from driftloop.config import GateSettings
from driftloop.gates import Evaluation, GateReport, evaluate_gates
from driftloop.gates.metrics import (
    bootstrap_auc_delta,
    bootstrap_delta,
    bootstrap_f1_macro_delta,
    demographic_parity_difference,
    equal_opportunity_difference,
    metric_value,
    weighted_auc,
)

SETTINGS = GateSettings(bootstrap_samples=200, min_eval_rows=4)


def binary(
    score: list[float], y: list[int], groups: list[str] | None = None, latency: float | None = None
) -> Evaluation:
    s = np.array(score)
    return Evaluation(
        "recent",
        np.array(y),
        (s >= 0.5).astype(int),
        s,
        None if groups is None else np.array(groups),
        latency,
    )


Y = [0, 0, 0, 0, 1, 1, 1, 1]
GOOD = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]  # AUC 1.0
WORSE = [0.1, 0.2, 0.3, 0.7, 0.6, 0.4, 0.8, 0.9]  # AUC 14/16 = 0.875


def gate(results: list, name: str, dataset: str | None = "recent"):  # type: ignore[no-untyped-def,type-arg]
    return next(r for r in results if r.name == name and r.dataset == dataset)


def test_primary_metric_regression_beyond_tolerance_fails() -> None:
    results = evaluate_gates(
        "binary_classification", {"recent": binary(WORSE, Y)}, {"recent": binary(GOOD, Y)}, SETTINGS
    )
    primary = gate(results, "primary_metric:roc_auc")
    assert primary.champion == 1.0
    assert primary.candidate == pytest.approx(0.875)
    assert primary.delta == pytest.approx(-0.125)
    assert primary.threshold == 0.05
    assert not primary.passed
    assert "worse by more than 5%" in primary.detail


def test_improvement_passes_and_reports_ci() -> None:
    results = evaluate_gates(
        "binary_classification", {"recent": binary(GOOD, Y)}, {"recent": binary(WORSE, Y)}, SETTINGS
    )
    primary = gate(results, "primary_metric:roc_auc")
    assert primary.passed
    assert primary.ci is not None
    assert primary.ci[0] <= primary.delta <= primary.ci[1]


def test_lower_is_better_metrics() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    champion = Evaluation("recent", y, y, y + 0.1)
    slightly_worse = Evaluation("recent", y, y, y + 0.104)  # rmse +4%: within 5%
    much_worse = Evaluation("recent", y, y, y + 0.2)
    settings = GateSettings(primary_metric="rmse", min_eval_rows=1, bootstrap_samples=50)
    ok = gate(
        evaluate_gates("regression", {"recent": slightly_worse}, {"recent": champion}, settings),
        "primary_metric:rmse",
    )
    bad = gate(
        evaluate_gates("regression", {"recent": much_worse}, {"recent": champion}, settings),
        "primary_metric:rmse",
    )
    assert ok.passed
    assert not bad.passed


def test_abandoned_class_fails_per_class_f1() -> None:
    never_positive = [0.1] * 8
    results = evaluate_gates(
        "binary_classification", {"recent": binary(never_positive, Y)}, None, SETTINGS
    )
    f1 = gate(results, "per_class_f1_min")
    assert f1.candidate == 0.0
    assert not f1.passed
    assert "class 1" in f1.detail


def test_without_champion_absolute_floors_and_fairness_reported_only() -> None:
    groups = ["a", "b"] * 4
    results = evaluate_gates(
        "binary_classification", {"recent": binary(WORSE, Y, groups)}, None, SETTINGS
    )
    primary = gate(results, "primary_metric:roc_auc")
    assert primary.champion is None
    assert primary.threshold == 0.70
    assert primary.passed
    parity = gate(results, "demographic_parity_difference")
    assert parity.passed
    assert parity.detail == "no champion: reported only"
    report = GateReport("m", "1", None, results)
    assert report.mode == "absolute_floors"
    assert report.to_dict()["champion_version"] is None


def test_fairness_gap_widening_by_more_than_three_points_fails() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0] * 25)
    groups = np.array(["a", "a", "b", "b"] * 50)
    fair = np.where(y == 1, 0.9, 0.1)
    unfair = np.where((y == 1) & (groups == "b") & (np.arange(200) % 2 == 0), 0.4, fair)
    champion = Evaluation("recent", y, (fair >= 0.5).astype(int), fair, groups)
    candidate = Evaluation("recent", y, (unfair >= 0.5).astype(int), unfair, groups)
    results = evaluate_gates(
        "binary_classification", {"recent": candidate}, {"recent": champion}, SETTINGS
    )
    opportunity = gate(results, "equal_opportunity_difference")
    assert opportunity.champion == 0.0
    assert opportunity.candidate == pytest.approx(0.5)
    assert not opportunity.passed
    assert equal_opportunity_difference(y, candidate.y_pred, groups, 1) == pytest.approx(0.5)
    assert demographic_parity_difference(candidate.y_pred, groups, 1) == pytest.approx(0.25)


def test_latency_gate() -> None:
    strict = GateSettings(bootstrap_samples=200, min_eval_rows=4, latency_noise_floor_seconds=0)
    fast, slow = binary(GOOD, Y, latency=0.001), binary(GOOD, Y, latency=0.0013)
    results = evaluate_gates("binary_classification", {"recent": slow}, {"recent": fast}, strict)
    latency = gate(results, "latency_p95_seconds", None)
    assert not latency.passed  # +30% > +20%
    within = binary(GOOD, Y, latency=0.00115)
    results = evaluate_gates("binary_classification", {"recent": within}, {"recent": fast}, strict)
    assert gate(results, "latency_p95_seconds", None).passed


def _latency_gate(candidate: float, champion: float) -> object:
    results = evaluate_gates(
        "binary_classification",
        {"recent": binary(GOOD, Y, latency=candidate)},
        {"recent": binary(GOOD, Y, latency=champion)},
        SETTINGS,
    )
    return gate(results, "latency_p95_seconds", None)


def test_latency_noise_floor() -> None:
    noisy = _latency_gate(0.0013, 0.001)  # +30% but only +0.3 ms: within the default 2 ms
    assert noisy.passed  # type: ignore[attr-defined]
    assert "within the 2 ms noise floor" in noisy.detail  # type: ignore[attr-defined]
    real = _latency_gate(0.013, 0.010)  # +30% and +3 ms: a real regression
    assert not real.passed  # type: ignore[attr-defined]
    assert "+3.0 ms" in real.detail  # type: ignore[attr-defined]


def _paired_gate(
    p95: tuple[float, float], fast: float, ratio: tuple[float, float, float]
) -> object:
    from dataclasses import replace

    results = evaluate_gates(
        "binary_classification",
        {"recent": replace(binary(GOOD, Y, latency=p95[1]), latency_ratio=ratio)},
        {"recent": replace(binary(GOOD, Y, latency=p95[0]), latency_fast=fast)},
        SETTINGS,
    )
    return gate(results, "latency_p95_seconds", None)


def test_paired_latency_verdict_does_not_move_with_load() -> None:
    """Load inflates p95s tenfold; the paired ratio and the fast (10th percentile) time it
    barely moves decide, so a candidate surely 22% slower at 1 ms a row passes idle and
    loaded (+0.2 ms is timer noise), and one surely 5x slower fails both ways."""
    ratio = (1.25, 1.22, 1.28)
    idle = _paired_gate((0.0012, 0.0015), 0.001, ratio)
    loaded = _paired_gate((0.012, 0.015), 0.001, ratio)  # the old p95 difference: +3 ms
    assert idle.passed  # type: ignore[attr-defined]
    assert loaded.passed  # type: ignore[attr-defined]
    assert "within the 2 ms noise floor" in loaded.detail  # type: ignore[attr-defined]
    slower = (6.0, 5.0, 7.0)
    assert not _paired_gate((0.0012, 0.007), 0.001, slower).passed  # type: ignore[attr-defined]
    assert not _paired_gate((0.012, 0.07), 0.001, slower).passed  # type: ignore[attr-defined]
    # interval reaching below the limit: not surely slower beyond it, whatever the median
    assert _paired_gate((0.0012, 0.0018), 0.001, (1.5, 1.1, 2.0)).passed  # type: ignore[attr-defined]


def test_min_eval_rows() -> None:
    results = evaluate_gates(
        "binary_classification", {"recent": binary(GOOD, Y)}, None, GateSettings(min_eval_rows=100)
    )
    rows = gate(results, "min_eval_rows")
    assert rows.candidate == 8
    assert not rows.passed


def test_weighted_auc_equals_sklearn_on_resamples() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.3
    score = np.round(rng.random(500) + 0.3 * y, 1)  # many ties
    counts = np.bincount(rng.integers(0, 500, 500), minlength=500)
    rows = np.repeat(np.arange(500), counts)
    assert weighted_auc(y, score, counts[None].astype(float))[0] == pytest.approx(
        roc_auc_score(y[rows], score[rows])
    )


def test_bootstrap_auc_delta_is_centred_on_the_difference() -> None:
    rng = np.random.default_rng(4)
    y = rng.random(2000) < 0.4
    better, worse = rng.random(2000) + 0.6 * y, rng.random(2000) + 0.3 * y
    delta = roc_auc_score(y, better) - roc_auc_score(y, worse)
    low, high = bootstrap_auc_delta(y, better, worse, 300, 0.95) or (0, 0)
    assert low < delta < high
    assert low > 0


def test_markdown_table() -> None:
    results = evaluate_gates(
        "binary_classification", {"recent": binary(WORSE, Y)}, {"recent": binary(GOOD, Y)}, SETTINGS
    )
    text = GateReport("churn", "2", "1", results).to_markdown()
    assert "**failed** (primary_metric:roc_auc" in text
    assert "| primary_metric:roc_auc | recent | 1 | 0.875 | -0.125 |" in text


def test_the_macro_f1_bootstrap_is_scikit_learns_on_the_same_resamples() -> None:
    rng = np.random.default_rng(3)
    classes = np.array(["negative", "neutral", "positive", "rare"])
    y = classes[rng.choice(4, 600, p=[0.3, 0.4, 0.29, 0.01])]
    candidate = np.where(rng.random(600) < 0.85, y, classes[rng.integers(0, 3, 600)])
    champion = np.where(rng.random(600) < 0.70, y, classes[rng.integers(0, 3, 600)])

    def delta(rows: np.ndarray) -> float:
        return metric_value("f1_macro", y[rows], candidate[rows], candidate[rows]) - (
            metric_value("f1_macro", y[rows], champion[rows], champion[rows])
        )

    # the same seed draws the same resamples: the intervals agree to rounding
    fast = bootstrap_f1_macro_delta(y, candidate, champion, 200, 0.95)
    slow = bootstrap_delta(delta, 600, 200, 0.95)
    assert fast is not None
    assert slow is not None
    assert fast == pytest.approx(slow, abs=1e-12)
    assert 0 < fast[0] < fast[1]  # the candidate is better
