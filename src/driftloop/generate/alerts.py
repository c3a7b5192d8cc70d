"""Alerting rules: drift, live quality, and the server and loop around them."""

from __future__ import annotations

import json
import re
from typing import Any

from driftloop.generate.recording import reference_metric
from driftloop.generate.settings import RuleSettings

__all__ = [
    "above",
    "alert",
    "drift_alerts",
    "one_of",
    "out_of_range_alert",
    "out_of_range_excess",
    "performance_alerts",
    "selector",
    "server_rules",
]

RUNBOOK = "https://github.com/driftloop/driftloop/blob/main/docs/runbook.md"


def alert(
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


def selector(**matchers: str) -> str:
    """``{model="m", feature!~"a|b"}`` from ``model='="m"'``, ``feature=one_of(..., True)``."""
    return "{" + ", ".join(f"{k}{v}" for k, v in matchers.items()) + "}"


def one_of(names: list[str], negate: bool = False) -> str:
    """A regex matcher (with its operator) for exactly these label values."""
    return ("!~" if negate else "=~") + json.dumps("|".join(re.escape(n) for n in names))


def above(metric: str, level: int, s: RuleSettings, features: bool = True) -> str:
    """``metric`` where it exceeds its PSI level (0 warn, 1 critical) as the policy sets it
    per model and feature: one term per distinct level, over disjoint selectors, joined by
    ``or`` (so each series is compared with its own level, once)."""
    default = (s.psi_warn, s.psi_critical)[level]
    if not s.psi_overrides:
        return f"{metric} > {default}"
    terms = []
    for override in s.psi_overrides:
        model = {"model": "=" + json.dumps(override.model)}
        named = [name for name, _ in override.features] if features else []
        for name, levels in override.features if features else ():
            if levels is not None:
                own = selector(**model, feature="=" + json.dumps(name))
                terms.append(f"{metric}{own} > {levels[level]}")
        if override.levels is not None:
            rest = {"feature": one_of(named, negate=True)} if named else {}
            terms.append(f"{metric}{selector(**model, **rest)} > {override.levels[level]}")
    others = selector(model=one_of([o.model for o in s.psi_overrides], negate=True))
    terms.append(f"{metric}{others} > {default}")
    return "(" + " or ".join(terms) + ")"


def drift_alerts(s: RuleSettings, w: str) -> list[dict[str, Any]]:
    psi, samples = f"driftloop:feature_psi:{w}", f"driftloop:feature_samples:{w}"
    enough = f"and on (model, version, feature) {samples} >= {s.min_samples}"
    p_psi, p_samples = f"driftloop:prediction_psi:{w}", f"driftloop:prediction_samples:{w}"
    per_model = (
        " unless policies/drift.yaml sets the model's or feature's own" if s.psi_overrides else ""
    )
    return [
        alert(
            "FeatureDriftWarning",
            f"{above(psi, 0, s)} {enough}",
            s.drift_for,
            "info",
            "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifting",
            f'PSI over {w} is {{{{ $value | printf "%.3f" }}}} (warn {s.psi_warn}{per_model}) '
            f"with at least {s.min_samples} rows.",
        ),
        alert(
            "FeatureDriftCritical",
            f"{above(psi, 1, s)} {enough}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifted",
            f'PSI over {w} is {{{{ $value | printf "%.3f" }}}} (critical {s.psi_critical}'
            f"{per_model}). "
            "driftloop check decides whether this becomes a retrain.",
        ),
        alert(
            "PredictionDrift",
            f"{above(p_psi, 1, s, features=False)} "
            f"and on (model, version) {p_samples} >= {s.min_samples}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: prediction distribution shifted",
            f'PSI of the model\'s output over {w} is {{{{ $value | printf "%.3f" }}}}.',
        ),
    ]


def performance_alerts(s: RuleSettings, w: str) -> list[dict[str, Any]]:
    accuracy, mae = f"driftloop:model_accuracy:{w}", f"driftloop:model_mae:{w}"
    auc = f"driftloop:model_roc_auc:{w}"
    return [
        alert(
            "ModelPerformanceDrop",
            f"({accuracy} < on (model, version)"
            f" ({reference_metric('accuracy')} - {s.accuracy_drop})"
            f" or {auc} < on (model, version) ({reference_metric('roc_auc')} - {s.auc_drop})"
            f" or {mae} > on (model, version)"
            f" ({reference_metric('mae')} * {1 + s.mae_increase}))"
            f" and on (model, version) driftloop:feedback_samples:{w} >= {s.min_feedback}",
            s.drift_for,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: live performance below training",
            f"Over {w} of feedback (at least {s.min_feedback} labels), accuracy fell more than "
            f"{s.accuracy_drop} or AUC more than {s.auc_drop} below, or MAE rose more than "
            f"{s.mae_increase:.0%} above, the metric at training time.",
        ),
    ]


def out_of_range_excess(w: str, selector: str = "") -> str:
    """The share of rows beyond |z| > 4 over ``w`` minus the reference's own (a lognormal
    feature has some: taxi's trip_distance 0.95%): what the alert and the check judge."""
    by = "model, version, feature"
    usual = (
        f"max by ({by}) "
        f"(last_over_time(driftloop_feature_out_of_range_reference_ratio{selector}[5m]))"
    )
    return f"driftloop:feature_out_of_range_share:{w}{selector} - on ({by}) {usual}"


def out_of_range_alert(s: RuleSettings, w: str) -> dict[str, Any]:
    by = "model, version, feature"
    rows = f"sum by ({by}) (increase(driftloop_feature_out_of_range_total[{w}]))"
    return alert(
        "FeatureOutOfRange",
        f"({out_of_range_excess(w)}) > {s.out_of_range_share} "
        f"and on ({by}) {rows} >= {s.out_of_range_rows}",
        "10m",
        "warning",
        "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} out of range",
        f"{{{{ $value | humanizePercentage }}}} more of {w}'s values than of the reference's "
        "lie more than 4 reference standard deviations from its mean (allowed "
        f"{s.out_of_range_share:.0%} more): a unit or scale change upstream, most often.",
    )


def long_window_alert(s: RuleSettings, w: str) -> dict[str, Any]:
    """Seed 002's "PSI over 30 d window > 0.2": each model's and feature's critical level over
    the long window, for an hour (its sums move once an hour)."""
    enough = f"and on (model, version, feature) driftloop:feature_samples:{w} >= {s.min_samples}"
    return alert(
        "FeatureDriftLongWindow",
        f"{above(f'driftloop:feature_psi:{w}', 1, s)} {enough}",
        s.long_for,
        "info",
        "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifted over " + w,
        f'PSI over {w} (complete days) is {{{{ $value | printf "%.3f" }}}} (critical '
        f"{s.psi_critical}, or the model's own): a slow move no shorter window shows. "
        "A model decides on it only with window: " + w + " in policies/drift.yaml.",
    )


def fairness_alert(s: RuleSettings, w: str) -> dict[str, Any]:
    widening = (
        f"driftloop:demographic_parity_difference:{w} "
        f"- on (model, version) {reference_metric('demographic_parity_difference')}"
    )
    return alert(
        "FairnessDrift",
        f"{widening} > {s.fairness_max_increase}",
        s.fairness_for,
        "warning",
        "{{ $labels.model }} v{{ $labels.version }}: demographic parity widened",
        f"The gap in positive-prediction rate between groups of the sensitive attribute over "
        f'{w} is {{{{ printf "%.3f" $value }}}} above the model\'s training-time gap (allowed '
        f"{s.fairness_max_increase}); the groups' rates: "
        f"driftloop:prediction_group_positive_rate:{w}.",
    )


def server_rules(s: RuleSettings) -> list[dict[str, Any]]:
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
        alert(
            "ModelServerErrors",
            f"driftloop:request_error_ratio:5m > {s.error_ratio}",
            "5m",
            "critical",
            "{{ $labels.model }} v{{ $labels.version }}: scoring requests failing",
            "{{ $value | humanizePercentage }} of requests answered 5xx over 5m "
            f"(limit {s.error_ratio:.0%}).",
        ),
        alert(
            "LatencySLOBreach",
            f"driftloop:request_duration_seconds:p95_5m > {s.latency_slo_seconds}",
            "10m",
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: p95 latency over the SLO",
            "p95 over 5m is {{ $value | humanizeDuration }} "
            f"(SLO {s.latency_slo_seconds * 1000:.0f} ms).",
        ),
        alert(
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
        alert(
            "ModelTelemetryAbsent",
            "group by (model) (last_over_time(driftloop_feature_reference_ratio[6h])) "
            "unless group by (model) (last_over_time(driftloop_feature_reference_ratio[15m]))",
            "5m",
            "warning",
            "{{ $labels.model }}: no drift telemetry",
            "{{ $labels.model }} exported drift telemetry in the last 6h but none for 15m: its "
            "servers are down or not scraped. Its drift cannot be detected meanwhile.",
        ),
        alert(
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
        alert(
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
        alert(
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
