"""The PrometheusRule (recording rules and alerts) generated from one set of settings.

``python -m driftloop.generate.rules > k8s/base/prometheus-rule.yaml``; a test regenerates
and diffs.
Alert thresholds come from ``policies/drift.yaml`` defaults, so the alerts and
``driftloop check`` agree on what "critical" means.

PSI in PromQL, per window w:
  1. ``increase()`` per raw series, *then* ``sum by`` (never ``increase(sum(...))``: a pod
     restart resets its counters and only per-series increase() corrects for that);
  2. the per-feature total filtered ``> 0``, so an empty window yields no sample, never NaN;
  3. bin shares and reference shares floored at 1e-4 with ``clamp_min``, as
     ``driftloop.drift.stats.psi`` floors them, so both agree on the same counts;
  4. the reference gauge read through ``max by`` (replicas export the same value; without it
     the join is many-to-many) over ``last_over_time(...[5m])`` (one failed scrape must not
     make PSI vanish and restart an alert's ``for:``).
Long windows are evaluated in slower groups: their cost is series x samples per evaluation.
Alerts live in the group of the rules they read, so they see this evaluation's values.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import yaml

from driftloop.config import DriftPolicy, format_duration, load_drift_policy, parse_duration
from driftloop.config.drift_policy import (
    LONGEST_RAW,
    LOWER_IS_BETTER,
    Bound,
    RelativeBound,
    Thresholds,
)
from driftloop.generate.alerts import (
    above,
    drift_alerts,
    fairness_alert,
    long_window_alert,
    out_of_range_alert,
    performance_alerts,
    server_rules,
)
from driftloop.generate.detection import detection_alerts, detection_rules
from driftloop.generate.recording import (
    daily_rules,
    hellinger_rule,
    multiclass_rules,
    out_of_range_rule,
    parity_rules,
    psi_rules,
    quality_rules,
    reference_rules,
    share_shift_rule,
)
from driftloop.generate.settings import WINDOWS, Levels, PsiOverride, QualityLevel, RuleSettings

__all__ = ["RuleSettings", "render_prometheus_rule", "settings_from_policy"]

_ONE_SECOND = timedelta(seconds=1)
# Prometheus's lookback: a rule that instant queries read is evaluated at least this often
_LOOKBACK = timedelta(minutes=5)
ESTIMATED = frozenset(
    {"roc_auc", "accuracy", "f1_macro"}
)  # the quality rules record an estimate of these


def settings_from_policy(policy: DriftPolicy) -> RuleSettings:
    """Thresholds, sample floor, decision window and recorded windows from the policy; each
    window is evaluated every fifth of itself, at most every 5m (5m, 1h and 24h keep their
    usual intervals)."""
    psi = policy.defaults.thresholds.psi
    every = {
        w: min(max(parse_duration(w) / 5, _ONE_SECOND), _LOOKBACK) for w in policy.recorded_windows
    }
    windows = tuple((w, WINDOWS.get(w, format_duration(every[w]))) for w in every)
    alert_window = policy.recorded_name(policy.defaults.window)
    thresholds = {"psi_warn": psi.warn, "psi_critical": psi.critical} if psi else {}
    out_of_range = policy.defaults.out_of_range
    return RuleSettings(
        min_samples=policy.defaults.min_samples,
        alert_window=alert_window,
        intervals=windows,
        psi_overrides=_psi_overrides(policy),
        auc_drop=_auc_drop(policy),
        out_of_range_share=out_of_range.max_share if out_of_range else None,
        out_of_range_rows=out_of_range.min_rows if out_of_range else 5,
        **_detection(policy),
        **_fairness(policy),
        **thresholds,  # type: ignore[arg-type]
    )


def _auc_drop(policy: DriftPolicy) -> float:
    """The defaults' critical AUC drop against training, else seed 002's 5 points."""
    performance = policy.defaults.performance
    bound = performance.thresholds.get("roc_auc") if performance else None
    return bound.max_drop.critical if isinstance(bound, RelativeBound) else RuleSettings.auc_drop


def _fairness(policy: DriftPolicy) -> dict[str, Any]:
    fairness = policy.defaults.fairness
    if fairness is None:
        return {}
    return {
        "fairness_min_rows": fairness.min_rows,
        "fairness_window": policy.recorded_name(fairness.window),
        "fairness_max_increase": fairness.max_increase,
        "fairness_for": format_duration(fairness.hold),
    }


def _detection(policy: DriftPolicy) -> dict[str, Any]:
    """Fast detection's settings (defaults.detection) and every model's critical quality
    levels; nothing when the policy does not detect."""
    detection = policy.defaults.detection
    if detection is None:
        return {}
    levels = []
    owners: list[str | None] = [None, *sorted(policy.models)]
    for model in owners:
        performance = (
            policy.defaults.performance if model is None else policy.models[model].performance
        )
        if performance is None:
            continue
        for metric, bound in performance.thresholds.items():
            if not isinstance(bound, Bound):
                continue  # relative to training: the check and ModelPerformanceDrop judge it
            estimate = performance.estimated != "off" and metric in ESTIMATED
            levels.append(
                QualityLevel(model, metric, bound.critical, performance.min_labels,
                             metric in LOWER_IS_BETTER, estimate)
            )  # fmt: skip
    return {
        "detect_window": policy.recorded_name(detection.window),
        "detect_z": NormalDist().inv_cdf(1 - detection.alpha),
        "detect_min_samples": detection.min_samples,
        "detect_hold": format_duration(detection.hold),
        "detect_keep": format_duration(detection.keep),
        "quality_levels": tuple(levels),
    }


def _levels(thresholds: Thresholds | None) -> Levels:
    psi = thresholds.psi if thresholds is not None else None
    return (psi.warn, psi.critical) if psi is not None else None


def _psi_overrides(policy: DriftPolicy) -> tuple[PsiOverride, ...]:
    """Every model whose PSI levels, or some of whose features' levels, are not the
    defaults' (churn's 0.10/0.20 from seed 001; an ignored feature is never judged)."""
    default = _levels(policy.defaults.thresholds)
    found = []
    for model, override in sorted(policy.models.items()):
        levels = _levels(policy.settings_for(model).thresholds)
        features = tuple(
            (name, own)
            for name in sorted(override.features)
            if (own := _levels(policy.thresholds_for(model, name))) != levels
        )
        if levels != default or features:
            found.append(PsiOverride(model, levels, features))
    return tuple(found)


def _long_window(s: RuleSettings, window: str, interval: str) -> dict[str, Any]:
    """A window longer than a day: PSI and Hellinger from the recorded daily increases (30
    samples a series, not 30 days of raw scrapes: docs/benchmarks.md), and its alert."""
    rules = psi_rules("feature", "model, version, feature", window, long=True)
    rules.append(hellinger_rule(window))
    rules += psi_rules("prediction", "model, version", window, long=True)
    rules.append(share_shift_rule(window))
    rules.append(long_window_alert(s, window))
    return {"name": f"driftloop-{window}", "interval": interval, "rules": rules}


def build_groups(s: RuleSettings) -> list[dict[str, Any]]:
    groups = []
    long = [w for w, _ in s.intervals if parse_duration(w) > LONGEST_RAW]
    if long:
        groups.append({"name": "driftloop-daily", "interval": "1d", "rules": daily_rules()})
    for window, interval in s.intervals:
        if window in long:
            groups.append(_long_window(s, window, interval))
            continue
        rules: list[dict[str, Any]] = []
        if window == s.intervals[0][0]:
            rules += reference_rules()
        rules += psi_rules("feature", "model, version, feature", window)
        rules.append(hellinger_rule(window))
        rules.append(out_of_range_rule(window))
        if window == s.intervals[0][0] and s.out_of_range_share is not None:
            rules.append(out_of_range_alert(s, window))  # the shortest window: minutes
        rules += psi_rules("prediction", "model, version", window)
        rules.append(share_shift_rule(window))
        rules += quality_rules(window)
        rules += multiclass_rules(window)
        rules += parity_rules(window, s.fairness_min_rows)
        if window == s.fairness_window:
            rules.append(fairness_alert(s, window))
        if window == s.detect_window:
            rules += detection_rules(s, window)
            rules += detection_alerts(s, window, above(f"driftloop:feature_psi:{window}", 1, s))
        if window == s.alert_window:
            rules += drift_alerts(s, window) + performance_alerts(s, window)
        if window == s.intervals[0][0]:
            rules += server_rules(s)
        groups.append({"name": f"driftloop-{window}", "interval": interval, "rules": rules})
    return groups


def render_prometheus_rule(s: RuleSettings) -> str:
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "driftloop",
            "labels": {
                "app.kubernetes.io/name": "driftloop",
                "app.kubernetes.io/component": "monitoring",
            },
        },
        "spec": {"groups": build_groups(s)},
    }
    header = (
        "# GENERATED by `python -m driftloop.generate.rules` from policies/drift.yaml; "
        "do not edit.\n"
        "# How PSI is computed and why the queries look this way: "
        "src/driftloop/generate/rules.py.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=120)


if __name__ == "__main__":
    policy_path = Path(sys.argv[1] if len(sys.argv) > 1 else "policies/drift.yaml")
    sys.stdout.write(render_prometheus_rule(settings_from_policy(load_drift_policy(policy_path))))
