"""Recording rules: PSI from the bin counters, realised and estimated quality.

How PSI is computed and why the queries look this way: ``driftloop.generate.rules``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FLOOR",
    "daily_rules",
    "hellinger_rule",
    "out_of_range_rule",
    "parity_rules",
    "psi_rules",
    "quality_rules",
    "reference_metric",
    "reference_rules",
    "share_shift_rule",
]

FLOOR = 0.0001
DAILY = "increase1d"  # driftloop:<counter>:increase1d, the Prometheus level:metric:operation form


def daily_rules() -> list[dict[str, Any]]:
    """Each day's increase of every bin counter, recorded once a day (a daily group):
    windows longer than a day sum these instead of reading weeks of raw samples."""
    return [
        {
            "record": f"driftloop:{prefix}_bin_total:{DAILY}",
            "expr": f"sum by ({by}, bin) (increase(driftloop_{prefix}_bin_total[1d]))",
        }
        for prefix, by in (("feature", "model, version, feature"), ("prediction", "model, version"))
    ]


def psi_rules(prefix: str, by: str, window: str, long: bool = False) -> list[dict[str, Any]]:
    """Recording rules for PSI of ``driftloop_<prefix>_bin_total`` over ``window``; a
    ``long`` window sums the daily increases (``daily_rules``) over it."""
    bins = f"{by}, bin"
    increase = f"driftloop:{prefix}_bin_increase:{window}"
    samples = f"driftloop:{prefix}_samples:{window}"
    ratio = f"driftloop:{prefix}_bin_ratio:{window}"
    # A long window's group reads the reference itself: it must not depend on the order in
    # which groups run (promtool runs them in any order at one timestamp).
    reference = (
        f"clamp_min({_reference(prefix, by)}, {FLOOR})"
        if long
        else f"driftloop:{prefix}_reference_ratio:floored"
    )
    counted = (
        f"sum_over_time(driftloop:{prefix}_bin_total:{DAILY}[{window}])"
        if long
        else f"increase(driftloop_{prefix}_bin_total[{window}])"
    )
    return [
        {"record": increase, "expr": f"sum by ({bins}) ({counted})"},
        {"record": samples, "expr": f"sum by ({by}) ({increase}) > 0"},
        {
            "record": ratio,
            "expr": f"clamp_min({increase} / on ({by}) group_left {samples}, {FLOOR})",
        },
        {
            "record": f"driftloop:{prefix}_psi:{window}",
            "expr": f"sum by ({by}) (({ratio} - {reference}) * ln({ratio} / {reference}))",
        },
    ]


def share_shift_rule(window: str) -> dict[str, Any]:
    """The largest absolute change of any model-output bin's share (a classifier's predicted
    class) against its reference share over ``window``, on unfloored shares (#19.3)."""
    by = "model, version"
    share = _shares("prediction", by, window)
    return {
        "record": f"driftloop:prediction_share_shift:{window}",
        "expr": f"max by ({by}) (abs({share} - on ({by}, bin) {_reference('prediction', by)}))",
    }


def hellinger_rule(window: str) -> dict[str, Any]:
    """Hellinger distance sqrt(1 - sum sqrt(p q)) of each feature's bins over ``window``, on
    unfloored shares as driftloop.drift.stats.hellinger computes it (clamped at 0 against
    rounding: the coefficient of equal shares can come out a hair above 1)."""
    by = "model, version, feature"
    share = _shares("feature", by, window)
    reference = _reference("feature", by)
    coefficient = f"sum by ({by}) (sqrt(({share}) * on ({by}, bin) {reference}))"
    return {
        "record": f"driftloop:feature_hellinger:{window}",
        "expr": f"sqrt(clamp_min(1 - {coefficient}, 0))",
    }


def out_of_range_rule(window: str) -> dict[str, Any]:
    """The share of each numeric feature's rows beyond |z| > 4 of the reference."""
    by = "model, version, feature"
    return {
        "record": f"driftloop:feature_out_of_range_share:{window}",
        "expr": f"sum by ({by}) (increase(driftloop_feature_out_of_range_total[{window}])) "
        f"/ on ({by}) driftloop:feature_samples:{window}",
    }


def parity_rules(window: str, min_rows: int) -> list[dict[str, Any]]:
    """Demographic parity difference over ``window``: the largest minus the smallest
    positive-prediction rate among groups with at least ``min_rows`` rows, as
    driftloop.gates.metrics.demographic_parity_difference computes it; nothing while fewer
    than two groups have their rows (one group has no gap to judge)."""
    by = "model, version, group"
    increase = f"driftloop:prediction_group_increase:{window}"
    rate = f"driftloop:prediction_group_positive_rate:{window}"
    return [
        {
            "record": increase,
            "expr": f"sum by ({by}, predicted) "
            f"(increase(driftloop_prediction_group_total[{window}]))",
        },
        {
            "record": rate,
            "expr": f'sum by ({by}) ({increase}{{predicted="positive"}}) '
            f"/ (sum by ({by}) ({increase}) >= {min_rows})",
        },
        {
            "record": f"driftloop:demographic_parity_difference:{window}",
            "expr": f"(max by (model, version) ({rate}) - min by (model, version) ({rate})) "
            f"and on (model, version) count by (model, version) ({rate}) > 1",
        },
    ]


def _shares(prefix: str, by: str, window: str) -> str:
    """Each bin's unfloored share of its rows over ``window``."""
    return (
        f"driftloop:{prefix}_bin_increase:{window} "
        f"/ on ({by}) group_left driftloop:{prefix}_samples:{window}"
    )


def _reference(prefix: str, by: str) -> str:
    return f"max by ({by}, bin) (last_over_time(driftloop_{prefix}_reference_ratio[5m]))"


def reference_rules() -> list[dict[str, Any]]:
    return [
        {
            "record": f"driftloop:{prefix}_reference_ratio:floored",
            "expr": f"clamp_min({_reference(prefix, by)}, {FLOOR})",
        }
        for prefix, by in (("feature", "model, version, feature"), ("prediction", "model, version"))
    ]


def _sum_increase(metric: str, window: str, selector: str = "") -> str:
    return f"sum by (model, version) (increase({metric}{selector}[{window}]))"


def reference_metric(metric: str) -> str:
    return 'max by (model, version) (driftloop_reference_metric{metric="' + metric + '"})'


def _auc(positives: str, negatives: str, negatives_below: str) -> str:
    """AUC from per-bin counts (driftloop.drift.binned_quality.binned_auc): sum over bins of
    pos * (neg below + neg / 2), over P * N; no sample while either class is absent."""
    by = "on (model, version, bin)"
    pairs = f"sum by (model, version) ({positives} * {by} ({negatives_below} + 0.5 * {negatives}))"
    both = (
        f"(sum by (model, version) ({negatives}) * on (model, version) "
        f"sum by (model, version) ({positives})) > 0"
    )
    return f"{pairs} / on (model, version) ({both})"


def quality_rules(w: str) -> list[dict[str, Any]]:
    """Realised quality from /feedback and the label-free estimate from scored rows, per model
    and version over ``w``; an empty window records nothing (never NaN)."""

    def outcomes(pattern: str) -> str:
        return _sum_increase("driftloop_feedback_total", w, '{outcome=~"' + pattern + '"}')

    def per_bin(metric: str, by: str = "model, version, bin") -> str:
        return f"sum by ({by}) (increase({metric}[{w}]))"

    scored = f"driftloop:feedback_score_bin_increase:{w}"
    below = f"driftloop:feedback_negative_below_increase:{w}"
    expected = f"driftloop:prediction_expected_positives_increase:{w}"
    expected_below = f"driftloop:prediction_expected_negatives_below_increase:{w}"
    rows = f"driftloop:prediction_bin_increase:{w}"

    def of_class(name: str) -> str:
        return f'sum by (model, version, bin) ({scored}{{class="{name}"}})'

    def record(name: str, expr: str) -> dict[str, Any]:
        return {"record": name, "expr": expr}

    return [
        record(
            f"driftloop:feedback_samples:{w}", f"{_sum_increase('driftloop_feedback_total', w)} > 0"
        ),
        record(
            f"driftloop:model_accuracy:{w}",
            f"{outcomes('tp|tn|correct')} / ({outcomes('tp|tn|fp|fn|correct|incorrect')} > 0)",
        ),
        record(
            f"driftloop:model_f1:{w}",
            f"2 * {outcomes('tp')} / ((2 * {outcomes('tp')} + {outcomes('fp|fn')}) > 0)",
        ),
        record(
            f"driftloop:model_mae:{w}",
            f"{_sum_increase('driftloop_feedback_absolute_error_total', w)}"
            f" / ({outcomes('observed')} > 0)",
        ),
        record(
            f"driftloop:model_rmse:{w}",
            f"sqrt({_sum_increase('driftloop_feedback_squared_error_total', w)}"
            f" / ({outcomes('observed')} > 0))",
        ),
        record(scored, per_bin("driftloop_feedback_score_bin_total", "model, version, class, bin")),
        record(below, per_bin("driftloop_feedback_negative_below_total")),
        record(f"driftloop:feedback_scored_samples:{w}", f"sum by (model, version) ({scored}) > 0"),
        record(
            f"driftloop:model_roc_auc:{w}",
            _auc(of_class("positive"), of_class("negative"), below),
        ),
        record(expected, per_bin("driftloop_prediction_expected_positives_total")),
        record(expected_below, per_bin("driftloop_prediction_expected_negatives_below_total")),
        record(
            f"driftloop:model_estimated_roc_auc:{w}",
            _auc(expected, f"({rows} - on (model, version, bin) {expected})", expected_below),
        ),
        record(
            f"driftloop:model_estimated_accuracy:{w}",
            f"{_sum_increase('driftloop_prediction_expected_correct_total', w)}"
            f" / on (model, version) driftloop:prediction_samples:{w}",
        ),
    ]


def multiclass_rules(w: str) -> list[dict[str, Any]]:
    """Per-class and macro F1 from the confusion counters over ``w``. Each pair's series is
    copied twice with a ``class`` label, once from ``actual`` and once from ``predicted``:
    the copies match on (actual, predicted, class) only on the diagonal (the hits), and
    their union per class is the rows where the class is actual or predicted (TP + FP + FN),
    so F1 = 2 TP / (TP + union). A class with no such rows is left out of the mean; an
    empty window records nothing."""
    pairs = f"driftloop:feedback_confusion_increase:{w}"
    by = "model, version, class"

    def as_class(side: str) -> str:
        return f'label_replace({pairs}, "class", "$1", "{side}", "(.*)")'

    union = f"driftloop:feedback_class_rows:{w}"
    hits = f"driftloop:feedback_class_hits:{w}"
    matched = f"{as_class('actual')} and on (model, version, actual, predicted, class) "
    return [
        {
            "record": pairs,
            "expr": "sum by (model, version, actual, predicted) "
            f"(increase(driftloop_feedback_confusion_total[{w}]))",
        },
        {
            "record": union,
            "expr": f"sum by ({by}) ({as_class('actual')} or {as_class('predicted')})",
        },
        {
            "record": hits,
            "expr": f"sum by ({by}) ({matched}{as_class('predicted')}) or 0 * {union}",
        },
        {
            "record": f"driftloop:model_class_f1:{w}",
            "expr": f"2 * {hits} / on ({by}) (({hits} + on ({by}) {union}) > 0)",
        },
        {
            "record": f"driftloop:model_f1_macro:{w}",
            "expr": f"avg by (model, version) (driftloop:model_class_f1:{w})",
        },
        *estimated_class_rules(w),
    ]


def estimated_class_rules(w: str) -> list[dict[str, Any]]:
    """The label-free per-class and macro F1 (driftloop.drift.class_quality): expected hits
    and expected rows per class from the server, served rows per class from the prediction
    bins (their ``bin`` is the class); F1_k = 2 hits / (served + rows)."""
    by = "model, version, class"
    hits = f"driftloop:prediction_expected_class_hits_increase:{w}"
    rows = f"driftloop:prediction_expected_class_rows_increase:{w}"
    served = f'label_replace(driftloop:prediction_bin_increase:{w}, "class", "$1", "bin", "(.*)")'
    return [
        {"record": hits, "expr": f"sum by ({by}) "
         f"(increase(driftloop_prediction_expected_class_hits_total[{w}]))"},
        {"record": rows, "expr": f"sum by ({by}) "
         f"(increase(driftloop_prediction_expected_class_rows_total[{w}]))"},
        {
            "record": f"driftloop:model_estimated_class_f1:{w}",
            "expr": f"2 * {hits} / on ({by}) "
            f"((sum by ({by}) ({served}) + on ({by}) {rows}) > 0)",
        },
        {
            "record": f"driftloop:model_estimated_f1_macro:{w}",
            "expr": f"avg by (model, version) (driftloop:model_estimated_class_f1:{w})",
        },
    ]  # fmt: skip
