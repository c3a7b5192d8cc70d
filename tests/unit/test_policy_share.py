"""Class-share shift as a retrain trigger (#19.3): seed 001's "sentiment distribution shift
> 25% (critical, triggers retrain)", with feature drift's sustain and suppression."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tests.unit.test_body import context
from tests.unit.test_policy_quality import STEP, T0, at_hour, policy, timeline

from driftloop.config import load_drift_policy
from driftloop.config.base import parse_document
from driftloop.config.drift_policy import DriftPolicy
from driftloop.errors import ConfigError
from driftloop.gitops.body import render_pull_request
from driftloop.loop.check import dispatch_reason
from driftloop.policy import History, Snapshot, decide
from driftloop.policy.signals import Dispatch, QualitySignal

ROOT = Path(__file__).resolve().parents[2]
SHARE = {"warn": 0.15, "critical": 0.25}


def shifted(shift_of_hour, hours: float, rows: float = 5000) -> list[Snapshot]:  # type: ignore[no-untyped-def]
    return [
        replace(p, quality={**p.quality, "prediction_share_shift": QualitySignal(
            "prediction_share_shift", shift_of_hour((p.at - T0) / timedelta(hours=1)), rows, "1")})
        for p in timeline(lambda h: 0.85, hours)
    ]  # fmt: skip


def test_a_lasting_share_shift_triggers_after_the_drift_sustain_once() -> None:
    points = shifted(lambda h: 0.30 if h >= 2 else 0.05, 12)
    judged = policy(prediction_share=SHARE)  # sustain 6h at 80%
    now, seen = at_hour(points, 6)
    early = decide("m", now, seen, History(), judged, STEP)
    assert early.decision == "warn"
    assert early.signal == "prediction_share"
    assert early.reasons[0] == (
        "a predicted class's share moved 30.0% from the reference (warn 15%, critical 25%)"
    )
    now, seen = at_hour(points, 7)  # 5h of 6h critical: 83%
    fired = decide("m", now, seen, History(), judged, STEP)
    assert fired.decision == "trigger"
    assert fired.signal == "prediction_share"
    assert fired.trigger_id == "m-20260301T0200Z"
    assert fired.evidence["prediction_share"]["shift"] == 0.3
    assert dispatch_reason(fired).startswith("class shares: a predicted class's share moved")
    body = render_pull_request(context(evidence=fired.evidence, reason=dispatch_reason(fired),
                                       trigger_id=fired.trigger_id))  # fmt: skip
    assert "for **a class-share shift**, trigger `m-20260301T0200Z`" in body
    assert "| 1h | 0.300 | 0.15 | 0.25 | 5000 |" in body
    # the same episode is not dispatched twice
    again = History((Dispatch(now, fired.trigger_id or ""),))
    later, seen = at_hour(points, 8)
    assert decide("m", later, seen, again, judged, STEP).decision == "suppressed"


def test_a_weekend_swing_or_thin_traffic_never_triggers() -> None:
    judged = policy(prediction_share=SHARE)
    swing = shifted(lambda h: 0.40 if 2 <= h < 5 else 0.05, 12)
    now, seen = at_hour(swing, 6)
    assert decide("m", now, seen, History(), judged, STEP).decision != "trigger"
    thin = shifted(lambda h: 0.40, 12, rows=499)  # min_samples 500
    now, seen = at_hour(thin, 12)
    decision = decide("m", now, seen, History(), judged, STEP)
    assert decision.decision != "trigger"
    assert decision.signal != "prediction_share"
    # without prediction_share in the policy, the same shift is not judged at all
    points = shifted(lambda h: 0.40, 12)
    now, seen = at_hour(points, 12)
    assert decide("m", now, seen, History(), policy(), STEP).signal != "prediction_share"


def test_tickets_judges_class_shares_over_its_quality_window() -> None:
    drift = load_drift_policy(ROOT / "policies/drift.yaml")
    share = drift.settings_for("tickets").prediction_share
    assert share is not None
    assert (share.warn, share.critical) == (0.15, 0.25)
    assert drift.quality_window_name("tickets") == "1h"
    assert drift.settings_for("churn").prediction_share is None


@pytest.mark.parametrize(
    ("models", "tasks", "key", "problem"),
    [
        ({"taxi": {"prediction_share": SHARE}}, {"taxi": "regression"},
         "models.taxi.prediction_share", "taxi is a regression model: it predicts no classes"),
        ({"t": {"prediction_share": {"warn": 0.5, "critical": 1.5}}}, {},
         "models.t.prediction_share.critical", "a share: at most 1"),
        ({"t": {"prediction_share": {"warn": 0.3, "critical": 0.2}}}, {},
         "models.t.prediction_share.critical", "must be > warn"),
    ],
)  # fmt: skip
def test_bad_share_levels_are_named(
    models: dict[str, object], tasks: dict[str, str], key: str, problem: str
) -> None:
    doc = {"apiVersion": "driftloop/v1", "kind": "DriftPolicy", "models": models}
    with pytest.raises(ConfigError) as caught:
        parse_document(DriftPolicy, doc, "drift.yaml").check_tasks(tasks)
    assert caught.value.key == key
    assert problem in caught.value.problem
