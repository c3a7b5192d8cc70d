"""Quality and schedule in the trigger policy, on hand-built timelines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from driftloop.config import DriftPolicy
from driftloop.config.base import parse_document
from driftloop.errors import ConfigError
from driftloop.policy import FeatureSignal, History, Snapshot, decide
from driftloop.policy.backtest import replay
from driftloop.policy.signals import Dispatch, QualitySignal

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
PERFORMANCE = {
    "window": "1h", "min_labels": 500, "sustain": "2h",
    "thresholds": {"roc_auc": {"warn": 0.80, "critical": 0.75}},
}  # fmt: skip


def policy(performance: dict[str, object] | None = None, **defaults: object) -> DriftPolicy:
    base: dict[str, object] = {
        "window": "1h", "min_samples": 500, "sustain": "6h", "cooldown": "24h",
        "max_triggers_per_week": 2, "performance": performance or PERFORMANCE,
    }  # fmt: skip
    base.update(defaults)
    doc = {"apiVersion": "driftloop/v1", "kind": "DriftPolicy", "defaults": base}
    return parse_document(DriftPolicy, doc, "test")


def timeline(auc_of_hour, hours: float, labels: float = 900, estimated=None,
             psi: float = 0.01) -> list[Snapshot]:  # type: ignore[no-untyped-def]  # fmt: skip
    points = []
    for i in range(int(hours * 12) + 1):
        h = i / 12
        quality = {"roc_auc": QualitySignal("roc_auc", auc_of_hour(h), labels, "1")}
        if estimated is not None:
            quality["estimated_roc_auc"] = QualitySignal(
                "estimated_roc_auc", estimated(h), 5000, "1"
            )
        features = {"x": FeatureSignal("x", psi, 5000, "1")}
        points.append(Snapshot(T0 + i * STEP, features, quality))
    return points


def at_hour(points: list[Snapshot], hour: float) -> tuple[datetime, list[Snapshot]]:
    now = T0 + timedelta(hours=hour)
    return now, [p for p in points if p.at <= now]


def test_a_lasting_auc_drop_triggers_after_the_quality_sustain_not_the_drift_one() -> None:
    points = timeline(lambda h: 0.70 if h >= 3 else 0.78, 8)
    now, seen = at_hour(points, 4.5)  # critical for 1.5h of 2h: 75%
    early = decide("m", now, seen, History(), policy(), STEP)
    assert early.decision == "warn"
    assert early.signal == "realised_performance"
    assert "realised roc_auc 0.700 < critical 0.75 (1h, 900 labels)" in early.reasons
    now, seen = at_hour(points, 4.75)  # 1.75h of 2h, far short of drift's 6h sustain
    late = decide("m", now, seen, History(), policy(), STEP)
    assert late.decision == "trigger"
    assert late.signal == "realised_performance"
    assert late.reasons[0] == "realised roc_auc 0.700 < critical 0.75 (1h, 900 labels)"
    assert late.trigger_id == "m-20260301T0300Z"
    assert late.evidence["realised_performance"]["breaches"][0]["threshold"] == 0.75


def test_one_bad_batch_of_labels_does_not_trigger() -> None:
    # a bad batch stays in a 1h window for 1h20m: 67% of the 2h sustain
    points = timeline(lambda h: 0.6 if 5 <= h < 6 + 1 / 3 else 0.78, 12)
    result = replay("m", points, policy(), T0 + timedelta(hours=2), points[-1].at, STEP,
                    timedelta(hours=26))  # fmt: skip
    assert result.triggers == []
    assert result.counts["warn"] > 0


def test_too_few_labels_never_trigger_and_the_baseline_only_warns() -> None:
    points = timeline(lambda h: 0.5, 6, labels=499)
    now, seen = at_hour(points, 6)
    thin = decide("m", now, seen, History(), policy(), STEP)
    assert thin.decision == "ok"  # drift judged ok; quality not judged
    assert "fewer than 500 labels" not in " ".join(thin.reasons)
    points = timeline(lambda h: 0.78, 6)
    now, seen = at_hour(points, 6)
    warned = decide("m", now, seen, History(), policy(), STEP)
    assert warned.decision == "warn"
    assert warned.reasons == ["realised roc_auc 0.780 < warn 0.8 (1h, 900 labels)"]


def test_quality_triggers_are_deduplicated_with_drift_and_respect_cooldown() -> None:
    points = timeline(lambda h: 0.70 if h >= 3 else 0.78, 8)
    now, seen = at_hour(points, 5.5)
    after_drift = History((Dispatch(T0 + timedelta(hours=4), "m-drift"),))
    decision = decide("m", now, seen, after_drift, policy(), STEP)
    assert decision.decision == "suppressed"
    assert "already dispatched for this drift episode" in decision.reasons[-1]
    earlier = History((Dispatch(T0 - timedelta(hours=3), "m-old"),))
    decision = decide("m", now, seen, earlier, policy(), STEP)
    assert decision.decision == "suppressed"
    assert decision.reasons[-1].startswith("cooldown")


def test_the_estimate_warns_and_triggers_only_when_the_policy_says_so() -> None:
    points = timeline(lambda h: 0.78, 8, labels=0, estimated=lambda h: 0.70 if h >= 2 else 0.78)
    now, seen = at_hour(points, 6)
    warned = decide("m", now, seen, History(), policy(), STEP)
    assert warned.decision == "warn"
    assert warned.signal == "estimated_performance"
    assert "estimated roc_auc 0.700 < critical 0.75 (1h, 5000 scored rows)" in warned.reasons
    acting = policy({**PERFORMANCE, "estimated": "trigger"})
    fired = decide("m", now, seen, History(), acting, STEP)
    assert fired.decision == "trigger"
    assert fired.signal == "estimated_performance"
    off = decide("m", now, seen, History(), policy({**PERFORMANCE, "estimated": "off"}), STEP)
    assert off.decision == "ok"


def test_drift_still_fires_with_a_performance_block() -> None:
    points = timeline(lambda h: 0.78, 10, psi=0.5)
    now, seen = at_hour(points, 10)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.decision == "trigger"
    assert decision.signal == "feature_drift"
    assert any(r.startswith("realised_performance: realised roc_auc") for r in decision.reasons)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"roc_auc": {"warn": 0.75, "critical": 0.80}}, "must be < warn"),
        ({"mae": {"warn": 3, "critical": 2}}, "must be > warn"),
        ({"auc": {"warn": 0.8, "critical": 0.7}}, "auc"),
    ],
)
def test_bad_quality_thresholds_are_named(thresholds: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        policy({**PERFORMANCE, "thresholds": thresholds})
    assert message in str(error.value)


def test_a_due_schedule_dispatches_once_per_period_apart_from_drift_limits() -> None:
    points = timeline(lambda h: 0.9, 1)
    now, seen = at_hour(points, 1)
    monthly = policy(schedule="monthly")
    # a drift dispatch an hour ago: drift's cooldown does not block the schedule
    history = History((Dispatch(now - timedelta(hours=1), "m-20260301T0000Z"),))
    due = decide("m", now, seen, history, monthly, STEP)
    assert due.decision == "trigger"
    assert due.signal == "schedule"
    assert due.trigger_id == "m-schedule-20260301"
    assert due.reasons[0] == "monthly retrain due (period from 2026-03-01)"
    done = History((*history.dispatches, Dispatch(now, "m-schedule-20260301")))
    assert decide("m", now + STEP, seen, done, monthly, STEP).decision != "trigger"
    busy = History(history.dispatches, open_pull_request="#7")
    blocked = decide("m", now, seen, busy, monthly, STEP)
    assert blocked.decision == "suppressed"
    assert "pull request" in blocked.reasons[-1]
    # ...and a scheduled dispatch spends no drift cooldown
    drifting = timeline(lambda h: 0.9, 10, psi=0.5)
    now, seen = at_hour(drifting, 10)
    scheduled_only = History((Dispatch(now - timedelta(hours=1), "m-schedule-20260301"),))
    assert decide("m", now, seen, scheduled_only, policy(), STEP).decision == "trigger"


def test_dispatch_reasons_name_the_signal_and_fit_the_retrain_input() -> None:
    from driftloop.gitops.inputs import check_reason
    from driftloop.loop.check import dispatch_reason

    points = timeline(lambda h: 0.70 if h >= 3 else 0.78, 8, estimated=lambda h: 0.7)
    now, seen = at_hour(points, 6)
    decision = decide("m", now, seen, History(), policy(), STEP)
    reason = dispatch_reason(decision)
    assert reason.startswith("performance: realised roc_auc 0.700 < critical 0.75 (1h, ")
    assert check_reason(reason) == reason
    many = [FeatureSignal(f"feature_with_a_long_name_{i}", 0.9, 5000, "1") for i in range(30)]
    drifting = [Snapshot(p.at, {s.feature: s for s in many}) for p in points]
    now, seen = at_hour(drifting, 8)
    drift = decide("m", now, seen, History(), policy(), STEP)
    assert drift.decision == "trigger"
    cut = dispatch_reason(drift)
    assert cut.startswith("drift: critical: feature_with_a_long_name_0")
    assert check_reason(cut) == cut


def test_the_check_reads_history_back_to_the_schedules_period() -> None:
    from driftloop.loop.check import history_start

    now = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
    plain = history_start(policy(), ["m"], now)
    assert plain == now - timedelta(days=7)  # the weekly cap's reach, beyond sustain + cooldown
    long = history_start(policy(sustain="72h", cooldown="5d"), ["m"], now)
    assert long == now - timedelta(hours=72) - timedelta(days=5)
    assert history_start(policy(schedule="monthly"), ["m"], now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert history_start(policy(schedule="weekly"), ["m"], now) == now - timedelta(days=7)


def test_prediction_drift_warns_and_never_triggers_alone() -> None:
    points = timeline(lambda h: 0.85, 10)
    shifted = [
        replace(p, quality={**p.quality,
                            "prediction_psi": QualitySignal("prediction_psi", 0.4, 5000, "1")})
        for p in points
    ]  # fmt: skip
    now, seen = at_hour(shifted, 10)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.decision == "warn"
    assert decision.signal == "prediction_drift"
    assert decision.reasons == ["prediction PSI 0.400 >= critical 0.25"]
    assert decision.evidence["prediction_drift"] == {"psi": 0.4, "rows": 5000}


class _Quiet:
    """A metrics source with nothing recorded (the schedule needs no signal)."""

    def current(self, models, window, at, shape=False, hellinger=False):  # type: ignore[no-untyped-def]
        return {m: Snapshot(at, {}) for m in models}

    def history(
        self, models, window, start, end, step, floor, complete=(), shape=False, hellinger=False
    ):  # type: ignore[no-untyped-def]
        return {}

    def quality(self, models, window, start, end, step):  # type: ignore[no-untyped-def]
        return {}


def test_a_schedule_dispatches_through_the_check_once_a_period(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess

    from driftloop.adapters.localhost import LocalRepoHost
    from driftloop.loop.check import run_check

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    host = LocalRepoHost(tmp_path)
    monthly = policy(schedule="monthly")

    def check(at: datetime) -> str:
        return run_check(["m"], _Quiet(), host, monthly, at, STEP).decisions[0].decision

    def finish_runs() -> None:  # the workflow run completes
        for path in (tmp_path / ".driftloop/dispatches").glob("*.json"):
            record = json.loads(path.read_text())
            path.write_text(json.dumps({**record, "status": "completed"}))

    first = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert check(first) == "trigger"
    [record] = host.dispatches("m")
    assert record["trigger_id"] == "m-schedule-20261201"
    assert record["reason"] == "schedule: monthly retrain due (period from 2026-12-01)"
    assert check(first + STEP) == "ok"  # dispatched for December (its run still queued)
    finish_runs()
    assert check(first + timedelta(days=3)) == "ok"
    assert len(host.dispatches("m")) == 1
    assert check(datetime(2027, 1, 1, 0, 5, tzinfo=UTC)) == "trigger"
    assert [r["trigger_id"] for r in host.dispatches("m")][-1] == "m-schedule-20270101"


def test_a_dispatch_records_the_signal_that_fired_and_the_ones_that_only_warned() -> None:
    """#20.8: the evidence of a trigger names its signal and the other warnings, so the PR
    body never calls a drift trigger with a quality warning a "quality episode"."""
    points = timeline(lambda h: 0.79, 8, psi=0.5)  # drift critical throughout, AUC at warn
    now, seen = at_hour(points, 7)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.decision == "trigger"
    assert decision.evidence["signal"] == "feature_drift"
    assert decision.evidence["warnings"] == ["realised_performance"]
    points = timeline(lambda h: 0.70 if h >= 3 else 0.78, 8)
    now, seen = at_hour(points, 4.75)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.evidence["signal"] == "realised_performance"
    assert "feature_drift" not in decision.evidence["warnings"]  # drift was ok
