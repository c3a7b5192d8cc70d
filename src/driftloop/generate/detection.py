"""Fast detection: drift and quality on a short window within minutes, noise-aware.

PSI on a 5m window at 1,000 rows an hour (~83 rows) is mostly noise: with B bins its no-drift
value is about chi-squared(B - 1) / n_eff. So a feature is *detected* only when its PSI is
above the critical level **and** above the chi-squared (1 - alpha) quantile over the effective
rows n*m/(n+m) (n reference rows, m window rows), the sample-size-aware test the check uses.
PromQL has no chi-squared quantile; the Wilson-Hilferty approximation
``k (1 - 2/(9k) + z sqrt(2/(9k)))^3`` is within 3% of it for k >= 1 (10.83 vs 11.16 at k=1,
alpha 0.001), errs on the safe side there, and the check computes the same formula so both
agree. Detection never dispatches: the trigger keeps its sustain.
"""

from __future__ import annotations

import json
from typing import Any

from driftloop.generate.alerts import alert, one_of, selector
from driftloop.generate.settings import QualityLevel, RuleSettings
from driftloop.policy.detection import MIN_EXPECTED

__all__ = ["detection_alerts", "detection_rules", "wilson_hilferty"]


def wilson_hilferty(dof: str, z: float) -> str:
    """The chi-squared quantile with ``dof`` degrees of freedom (a PromQL expression) at
    the standard normal quantile ``z``."""
    return f"({dof}) * (1 - 2 / (9 * ({dof})) + {z!r} * sqrt(2 / (9 * ({dof}))))^3"


def detection_rules(s: RuleSettings, w: str) -> list[dict[str, Any]]:
    """The noise bound, recorded only where every bin expects MIN_EXPECTED rows (the
    chi-squared approximation needs them; driftloop.policy.detection)."""
    samples = f"driftloop:feature_samples:{w}"
    smallest = (
        "min by (model, version, feature) "
        "(last_over_time(driftloop_feature_reference_ratio[5m]) > 0)"
    )
    reference_rows = "max by (model, version) (last_over_time(driftloop_reference_rows[5m]))"
    effective = f"driftloop:feature_effective_rows:{w}"
    dof = "(count by (model, version, feature) (driftloop:feature_reference_ratio:floored) - 1) > 0"
    return [
        {
            "record": effective,
            "expr": f"({samples} * on (model, version) group_left {reference_rows}) "
            f"/ ({samples} + on (model, version) group_left {reference_rows})",
        },
        {
            "record": f"driftloop:feature_psi_noise_bound:{w}",
            "expr": f"({wilson_hilferty(dof, s.detect_z)} "
            f"/ on (model, version, feature) {effective}) "
            f"and on (model, version, feature) ({samples} * on (model, version, feature) "
            f"{smallest} >= {MIN_EXPECTED})",
        },
    ]


def _models(level: QualityLevel, levels: tuple[QualityLevel, ...]) -> str:
    """The level's model, or (for the defaults' level) every model without its own."""
    if level.model is not None:
        return selector(model="=" + json.dumps(level.model))
    own = sorted({q.model for q in levels if q.model is not None})
    return selector(model=one_of(own, negate=True)) if own else ""


def _quality_terms(s: RuleSettings, w: str, estimated: bool) -> list[str]:
    terms = []
    for level in s.quality_levels:
        if estimated and not level.estimated:
            continue
        name = f"estimated_{level.metric}" if estimated else level.metric
        rows = (
            "prediction_samples"
            if estimated
            else "feedback_scored_samples"
            if level.metric == "roc_auc"
            else "feedback_samples"
        )
        worse = ">" if level.lower_is_better else "<"
        models = _models(level, s.quality_levels)
        terms.append(
            f"(driftloop:model_{name}:{w}{models} {worse} {level.critical} "
            f"and on (model, version) driftloop:{rows}:{w} >= {level.min_labels})"
        )
    return terms


def detection_alerts(s: RuleSettings, w: str, psi_above: str) -> list[dict[str, Any]]:
    """FeatureDriftDetected from PSI over ``w`` (``psi_above``: where it exceeds its critical
    level), and the same for realised and estimated quality where the policy judges it."""
    psi, samples = f"driftloop:feature_psi:{w}", f"driftloop:feature_samples:{w}"
    on = "on (model, version, feature)"
    rules = [
        alert(
            "FeatureDriftDetected",
            f"{psi_above} and {on} ({psi} > {on} driftloop:feature_psi_noise_bound:{w}) "
            f"and {on} {samples} >= {s.detect_min_samples}",
            s.detect_hold,
            "warning",
            "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} shifted",
            f'PSI over {w} is {{{{ $value | printf "%.3f" }}}}: above its critical level and '
            f"above what sampling noise reaches on these rows. Detected, not decided: driftloop "
            "check triggers a retrain only if the shift lasts its sustain period.",
        )
    ]
    for estimated, name, what in (
        (False, "QualityDropDetected", "realised quality (labelled feedback)"),
        (True, "EstimatedQualityDropDetected", "the label-free quality estimate"),
    ):
        terms = _quality_terms(s, w, estimated)
        if terms:
            rules.append(
                alert(
                    name,
                    " or ".join(terms),
                    s.detect_hold,
                    "warning",
                    "{{ $labels.model }} v{{ $labels.version }}: quality below critical",
                    f'Over {w}, {what} is {{{{ $value | printf "%.3f" }}}}, below the model\'s '
                    "critical level in policies/drift.yaml, with at least its min_labels rows. "
                    "Detected, not decided: the check waits for the quality sustain.",
                )
            )
    for rule in rules:  # at a few dozen rows the condition dips now and then (check: keep)
        rule["keep_firing_for"] = s.detect_keep
    return rules
