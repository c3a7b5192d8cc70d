"""Which gates a candidate must pass, computed from evaluations and the gate settings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from driftloop.config import GateSettings
from driftloop.config.model import Task
from driftloop.gates import metrics as m
from driftloop.gates.evaluation import Evaluation
from driftloop.gates.report import GateResult

__all__ = ["evaluate_gates", "primary_metric_for"]


def primary_metric_for(task: Task, settings: GateSettings) -> str:
    if settings.primary_metric != "auto":
        return settings.primary_metric
    return {"binary_classification": "roc_auc", "multiclass_classification": "f1_macro"}.get(
        task, "r2"
    )


def _primary(
    metric: str,
    cand: Evaluation,
    champ: Evaluation | None,
    settings: GateSettings,
    positive: object,
) -> GateResult:
    value = m.metric_value(metric, cand.y_true, cand.y_pred, cand.score)
    name = f"primary_metric:{metric}"
    lower = metric in m.LOWER_IS_BETTER
    if champ is None:
        floor = settings.absolute_floors.get(metric)
        if floor is None:
            return GateResult(
                name, None, value, None, None, True, cand.dataset, "no champion and no floor"
            )
        passed = value <= floor if lower else value >= floor
        return GateResult(
            name, None, value, None, floor, passed, cand.dataset, "no champion: absolute floor"
        )
    base = m.metric_value(metric, champ.y_true, champ.y_pred, champ.score)
    tolerance = settings.max_relative_regression
    limit = base + abs(base) * tolerance if lower else base - abs(base) * tolerance
    passed = value <= limit if lower else value >= limit
    ci = _delta_ci(metric, cand, champ, settings, positive)
    detail = (
        ""
        if passed
        else f"{metric} {value:.4f} vs champion {base:.4f}: worse by more than {tolerance:.0%}"
    )
    return GateResult(name, base, value, value - base, tolerance, passed, cand.dataset, detail, ci)


def _delta_ci(
    metric: str, cand: Evaluation, champ: Evaluation, settings: GateSettings, positive: object
) -> tuple[float, float] | None:
    if metric == "roc_auc":
        return m.bootstrap_auc_delta(
            cand.y_true == positive,
            cand.score,
            champ.score,
            settings.bootstrap_samples,
            settings.confidence,
        )

    if metric == "f1_macro":
        return m.bootstrap_f1_macro_delta(
            cand.y_true, cand.y_pred, champ.y_pred, settings.bootstrap_samples,
            settings.confidence,
        )  # fmt: skip

    def delta(rows: np.ndarray) -> float:
        return m.metric_value(
            metric, cand.y_true[rows], cand.y_pred[rows], cand.score[rows]
        ) - m.metric_value(metric, champ.y_true[rows], champ.y_pred[rows], champ.score[rows])

    return m.bootstrap_delta(delta, cand.rows, settings.bootstrap_samples, settings.confidence)


def _per_class_f1(cand: Evaluation, champ: Evaluation | None, floor: float) -> GateResult:
    scores = m.per_class_f1(cand.y_true, cand.y_pred)
    worst = min(scores, key=lambda label: scores[label])
    base = min(m.per_class_f1(champ.y_true, champ.y_pred).values()) if champ else None
    passed = scores[worst] >= floor
    detail = (
        "" if passed else f"class {worst} F1 {scores[worst]:.3f} below {floor}: class abandoned"
    )
    delta = None if base is None else scores[worst] - base
    return GateResult(
        "per_class_f1_min", base, scores[worst], delta, floor, passed, cand.dataset, detail
    )


def _fairness(
    cand: Evaluation, champ: Evaluation | None, settings: GateSettings, positive: object
) -> list[GateResult]:
    if cand.groups is None:
        return []

    def parity(e: Evaluation) -> float:
        assert e.groups is not None
        return m.demographic_parity_difference(e.y_pred, e.groups, positive)

    def opportunity(e: Evaluation) -> float:
        assert e.groups is not None
        return m.equal_opportunity_difference(e.y_true, e.y_pred, e.groups, positive)

    results = []
    measures = {
        "demographic_parity_difference": parity,
        "equal_opportunity_difference": opportunity,
    }
    for name, measure in measures.items():
        value = measure(cand)
        if champ is None:
            results.append(
                GateResult(
                    name, None, value, None, None, True, cand.dataset, "no champion: reported only"
                )
            )
            continue
        base = measure(champ)
        widening = value - base
        passed = widening <= settings.fairness_max_widening
        detail = "" if passed else f"gap widened by {widening * 100:.1f} points"
        results.append(
            GateResult(
                name,
                base,
                value,
                widening,
                settings.fairness_max_widening,
                passed,
                cand.dataset,
                detail,
            )
        )
    return results


def _latency(
    cand: Evaluation, champ: Evaluation | None, settings: GateSettings
) -> list[GateResult]:
    """Fails when the candidate is slower by more than the limit with confidence: the low
    end of the paired ratio's interval is above 1 + max_latency_increase, and the time that
    surely adds is above the noise floor. That added time is taken at the champion's fast
    (10th percentile) single-row time, which load barely moves, not at its p95, which load
    inflates. Without paired timings, on the p95s alone."""
    if cand.latency_p95 is None or champ is None or champ.latency_p95 is None:
        return []
    if cand.latency_ratio is not None:
        median, low, high = cand.latency_ratio
        increase, surely, ci = median - 1, low - 1, (low - 1, high - 1)
        base = champ.latency_fast if champ.latency_fast else champ.latency_p95
        added = max(surely, 0.0) * base
    else:
        increase = surely = cand.latency_p95 / champ.latency_p95 - 1
        ci = None
        added = cand.latency_p95 - champ.latency_p95
    within_noise = added <= settings.latency_noise_floor_seconds
    passed = surely <= settings.max_latency_increase or within_noise
    if not passed:
        detail = f"single-row latency up {increase:.0%} (+{added * 1000:.1f} ms)"
    elif within_noise and surely > settings.max_latency_increase:
        floor = settings.latency_noise_floor_seconds * 1000
        detail = (
            f"up {increase:.0%} but only +{added * 1000:.2f} ms, "
            f"within the {floor:g} ms noise floor"
        )
    else:
        detail = ""
    return [
        GateResult(
            "latency_p95_seconds",
            champ.latency_p95,
            cand.latency_p95,
            increase,
            settings.max_latency_increase,
            passed,
            None,
            detail,
            ci,
        )
    ]


def evaluate_gates(
    task: Task,
    candidate: Mapping[str, Evaluation],
    champion: Mapping[str, Evaluation] | None,
    settings: GateSettings,
    positive: object = 1,
) -> list[GateResult]:
    """Every gate on every dataset; ``champion`` None means absolute floors only."""
    metric = primary_metric_for(task, settings)
    results: list[GateResult] = []
    for dataset, cand in candidate.items():
        champ = champion.get(dataset) if champion else None
        results.append(
            GateResult(
                "min_eval_rows",
                None,
                float(cand.rows),
                None,
                float(settings.min_eval_rows),
                cand.rows >= settings.min_eval_rows,
                dataset,
                "" if cand.rows >= settings.min_eval_rows else "too few labelled rows to judge",
            )
        )
        results.append(_primary(metric, cand, champ, settings, positive))
        if task != "regression":
            results.append(_per_class_f1(cand, champ, settings.per_class_f1_floor))
        if task == "binary_classification":
            results += _fairness(cand, champ, settings, positive)
    first = next(iter(candidate.values()))
    first_champion = next(iter(champion.values())) if champion else None
    results += _latency(first, first_champion, settings)
    return results
