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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from driftloop.config import DriftPolicy, format_duration, load_drift_policy, parse_duration

__all__ = ["RuleSettings", "render_prometheus_rule", "settings_from_policy"]

FLOOR = 0.0001
WINDOWS = {"5m": "1m", "1h": "5m", "24h": "15m"}  # window -> evaluation interval
_ONE_SECOND = timedelta(seconds=1)
RUNBOOK = "https://github.com/driftloop/driftloop/blob/main/docs/runbook.md"


@dataclass(frozen=True)
class RuleSettings:
    psi_warn: float = 0.1
    psi_critical: float = 0.25
    min_samples: int = 1000
    drift_for: str = "30m"
    min_feedback: int = 200
    accuracy_drop: float = 0.05
    mae_increase: float = 0.25
    error_ratio: float = 0.05
    latency_slo_seconds: float = 0.15
    check_interval_seconds: int = 300  # the drift-check CronJob's schedule (*/5)
    alert_window: str = "1h"
    # window -> evaluation interval; tests shorten them to run against a live Prometheus
    intervals: tuple[tuple[str, str], ...] = tuple(WINDOWS.items())


def settings_from_policy(policy: DriftPolicy) -> RuleSettings:
    """Thresholds, sample floor, decision window and recorded windows from the policy; each
    window is evaluated every fifth of itself (5m, 1h and 24h keep their usual intervals)."""
    psi = policy.defaults.thresholds.psi
    windows = tuple(
        (w, WINDOWS.get(w, format_duration(max(parse_duration(w) / 5, _ONE_SECOND))))
        for w in policy.recorded_windows
    )
    alert_window = next(
        w for w in policy.recorded_windows if parse_duration(w) == policy.defaults.window
    )
    thresholds = {"psi_warn": psi.warn, "psi_critical": psi.critical} if psi else {}
    return RuleSettings(
        min_samples=policy.defaults.min_samples,
        alert_window=alert_window,
        intervals=windows,
        **thresholds,  # type: ignore[arg-type]
    )


def _psi_rules(prefix: str, by: str, window: str) -> list[dict[str, Any]]:
    """Recording rules for PSI of ``driftloop_<prefix>_bin_total`` over ``window``."""
    bins = f"{by}, bin"
    increase = f"driftloop:{prefix}_bin_increase:{window}"
    samples = f"driftloop:{prefix}_samples:{window}"
    ratio = f"driftloop:{prefix}_bin_ratio:{window}"
    reference = f"driftloop:{prefix}_reference_ratio:floored"
    return [
        {
            "record": increase,
            "expr": f"sum by ({bins}) (increase(driftloop_{prefix}_bin_total[{window}]))",
        },
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


def _reference_rules() -> list[dict[str, Any]]:
    return [
        {
            "record": f"driftloop:{prefix}_reference_ratio:floored",
            "expr": f"clamp_min(max by ({by}, bin) "
            f"(last_over_time(driftloop_{prefix}_reference_ratio[5m])), {FLOOR})",
        }
        for prefix, by in (("feature", "model, version, feature"), ("prediction", "model, version"))
    ]


def _alert(
    name: str, expr: str, duration: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{RUNBOOK}#{name.lower()}",
        },
    }


def _drift_alerts(s: RuleSettings, w: str) -> list[dict[str, Any]]:
    psi, samples = f"driftloop:feature_psi:{w}", f"driftloop:feature_samples:{w}"
    enough = f"and on (model, version, feature) {samples} >= {s.min_samples}"
    p_psi, p_samples = f"driftloop:prediction_psi:{w}", f"driftloop:prediction_samples:{w}"
    return [
        _alert(
            "FeatureDriftWarning",
            f"{psi} > {s.psi_warn} {enough}",
            s.drift_for,
            "info",
            "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifting",
            f'PSI over {w} is {{{{ $value | printf "%.3f" }}}} (warn {s.psi_warn}) '
            f"with at least {s.min_samples} rows.",
        ),
        _alert(
            "FeatureDriftCritical",
            f"{psi} > {s.psi_critical} {enough}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifted",
            f'PSI over {w} is {{{{ $value | printf "%.3f" }}}} (critical {s.psi_critical}). '
            "driftloop check decides whether this becomes a retrain.",
        ),
        _alert(
            "PredictionDrift",
            f"{p_psi} > {s.psi_critical} and on (model, version) {p_samples} >= {s.min_samples}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: prediction distribution shifted",
            f'PSI of the model\'s output over {w} is {{{{ $value | printf "%.3f" }}}}.',
        ),
    ]


def _sum_increase(metric: str, window: str, selector: str = "") -> str:
    return f"sum by (model, version) (increase({metric}{selector}[{window}]))"


def _reference_metric(metric: str) -> str:
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


def _quality_rules(w: str) -> list[dict[str, Any]]:
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


def _performance_alert(s: RuleSettings, w: str) -> list[dict[str, Any]]:
    accuracy, mae = f"driftloop:model_accuracy:{w}", f"driftloop:model_mae:{w}"
    return [
        _alert(
            "ModelPerformanceDrop",
            f"({accuracy} < on (model, version)"
            f" ({_reference_metric('accuracy')} - {s.accuracy_drop})"
            f" or {mae} > on (model, version)"
            f" ({_reference_metric('mae')} * {1 + s.mae_increase}))"
            f" and on (model, version) driftloop:feedback_samples:{w} >= {s.min_feedback}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: live performance below training",
            f"Over {w} of feedback (at least {s.min_feedback} labels), accuracy fell more than "
            f"{s.accuracy_drop} below, or MAE rose more than {s.mae_increase:.0%} above, the "
            "metric at training time.",
        ),
    ]


def _server_rules(s: RuleSettings) -> list[dict[str, Any]]:
    errors = "sum by (model, version) (rate(driftloop_requests_total" + '{code=~"5.."}' + "[5m]))"
    requests = "sum by (model, version) (rate(driftloop_requests_total[5m]))"
    return [
        {"record": "driftloop:request_error_ratio:5m", "expr": f"{errors} / ({requests} > 0)"},
        {
            "record": "driftloop:request_duration_seconds:p95_5m",
            "expr": "histogram_quantile(0.95, sum by (model, version, le) "
            "(rate(driftloop_request_duration_seconds_bucket[5m])) and on (model, version) "
            "sum by (model, version) (rate(driftloop_request_duration_seconds_count[5m])) > 0)",
        },
        _alert(
            "ModelServerErrors",
            f"driftloop:request_error_ratio:5m > {s.error_ratio}",
            "5m",
            "critical",
            "{{ $labels.model }} v{{ $labels.version }}: scoring requests failing",
            "{{ $value | humanizePercentage }} of requests answered 5xx over 5m "
            f"(limit {s.error_ratio:.0%}).",
        ),
        _alert(
            "LatencySLOBreach",
            f"driftloop:request_duration_seconds:p95_5m > {s.latency_slo_seconds}",
            "10m",
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: p95 latency over the SLO",
            "p95 over 5m is {{ $value | humanizeDuration }} "
            f"(SLO {s.latency_slo_seconds * 1000:.0f} ms).",
        ),
        _alert(
            "DriftTelemetryAbsent",
            "absent_over_time(driftloop_feature_reference_ratio[15m])",
            "5m",
            "warning",
            "No drift telemetry reaches Prometheus",
            "No driftloop_feature_reference_ratio series for 15m: the model server is down, "
            "not scraped, or runs without its profile. Drift cannot be detected meanwhile.",
        ),
        # Per model: one model's servers gone while others still report (no list of models
        # needed: a model seen in the last 6h but not in the last 15m).
        _alert(
            "ModelTelemetryAbsent",
            "group by (model) (last_over_time(driftloop_feature_reference_ratio[6h])) "
            "unless group by (model) (last_over_time(driftloop_feature_reference_ratio[15m]))",
            "5m",
            "warning",
            "{{ $labels.model }}: no drift telemetry",
            "{{ $labels.model }} exported drift telemetry in the last 6h but none for 15m: its "
            "servers are down or not scraped. Its drift cannot be detected meanwhile.",
        ),
        _alert(
            "DriftCheckStale",
            f"time() - max(driftloop_check_last_success_timestamp_seconds) "
            f"> {3 * s.check_interval_seconds} "
            "or absent(driftloop_check_last_success_timestamp_seconds)",
            "5m",
            "warning",
            "The drift check has not succeeded for 3 intervals",
            "driftloop check (the drift-check CronJob) last pushed a success "
            f"more than {3 * s.check_interval_seconds // 60} minutes ago, or never: drift "
            "triggers no retrain meanwhile.",
        ),
        # Pushed by `driftloop promote --pushgateway` (promote.yml): the last run found a change
        # to production that no approved pull request made. Stays until a run finds none.
        _alert(
            "ProductionChangeUnapproved",
            "max(driftloop_promote_unapproved_changes) > 0",
            "0m",
            "critical",
            "A change reached production without an approved pull request",
            "driftloop promote found {{ $value }} change(s) to production paths on the "
            "default branch that no approved pull request made (a direct push, a force push, "
            "or an unreviewed merge); its issue (label unapproved-change) names them.",
        ),
        # Argo Rollouts' controller metric: an aborted canary leaves its Rollout Degraded
        # (argo-rollouts controller/metrics/rollouts.go: rollout_info{phase}).
        _alert(
            "CanaryAborted",
            'max by (model) (label_replace(rollout_info{namespace="driftloop",phase="Degraded"}, '
            '"model", "$1", "name", "model-server-(.+)")) == 1',
            "1m",
            "critical",
            "{{ $labels.model }}: canary aborted",
            "Argo Rollouts aborted the {{ $labels.model }} canary (its Rollout is Degraded): an "
            "analysis failed or its pods never became ready. The stable version serves; git "
            "and MLflow still name the aborted one.",
        ),
    ]


def build_groups(s: RuleSettings) -> list[dict[str, Any]]:
    groups = []
    for window, interval in s.intervals:
        rules: list[dict[str, Any]] = []
        if window == s.intervals[0][0]:
            rules += _reference_rules()
        rules += _psi_rules("feature", "model, version, feature", window)
        rules += _psi_rules("prediction", "model, version", window)
        rules += _quality_rules(window)
        if window == s.alert_window:
            rules += _drift_alerts(s, window) + _performance_alert(s, window)
        if window == s.intervals[0][0]:
            rules += _server_rules(s)
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
