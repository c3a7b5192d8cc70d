"""The pure trigger policy on hand-built signal timelines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftloop.config import DriftPolicy
from driftloop.config.base import parse_document
from driftloop.policy import FeatureSignal, History, Snapshot, decide
from driftloop.policy.backtest import replay
from driftloop.policy.signals import Dispatch

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def policy(**defaults: object) -> DriftPolicy:
    base: dict[str, object] = {
        "window": "1h", "min_samples": 500, "sustain": "6h", "sustain_fraction": 0.8,
        "cooldown": "24h", "max_triggers_per_week": 2, "thresholds": {"psi": {"warn": 0.1, "critical": 0.25}},
    }  # fmt: skip
    base.update(defaults)
    doc = {"apiVersion": "driftloop/v1", "kind": "DriftPolicy", "defaults": base}
    return parse_document(DriftPolicy, doc, "test")


def timeline(
    psi_of_hour, hours: float, samples: float = 1000, features=("x", "y")
) -> list[Snapshot]:  # type: ignore[no-untyped-def]
    points = []
    for i in range(int(hours * 12) + 1):
        at = T0 + i * STEP
        h = i / 12
        signals = {
            f: FeatureSignal(f, psi_of_hour(h) if f == "x" else 0.01, samples, "1")
            for f in features
        }
        points.append(Snapshot(at, signals))
    return points


def at_hour(points: list[Snapshot], hour: float) -> tuple[datetime, list[Snapshot]]:
    now = T0 + timedelta(hours=hour)
    return now, [p for p in points if p.at <= now]


def test_lasting_shift_triggers_only_after_the_sustain_period() -> None:
    points = timeline(lambda h: 0.4 if h >= 2 else 0.02, 12)
    now, seen = at_hour(points, 6.5)  # critical for 4.5h of 6h: 75% < 80%
    early = decide("m", now, seen, History(), policy(), STEP)
    assert early.decision == "warn"
    assert "a trigger needs 80% of 6h" in early.reasons[-1]
    now, seen = at_hour(points, 7)  # 5h of 6h
    late = decide("m", now, seen, History(), policy(), STEP)
    assert late.decision == "trigger"
    assert late.trigger_id == "m-20260301T0200Z"
    assert late.evidence["since"] == (T0 + timedelta(hours=2)).isoformat()
    assert late.evidence["top_features"][0]["feature"] == "x"
    assert late.evidence["critical_features"] == ["x"]


def test_transient_push_never_triggers_and_says_why() -> None:
    points = timeline(lambda h: 0.4 if 2 <= h < 4 else 0.02, 24)
    for hour in range(3, 25):
        now, seen = at_hour(points, hour)
        decision = decide("m", now, seen, History(), policy(), STEP)
        assert decision.decision != "trigger"
    now, seen = at_hour(points, 5)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.decision == "warn"
    assert decision.reasons == [
        "below warn now",
        "critical for 33% of the sustain period; a trigger needs 80% of 6h",
    ]
    now, seen = at_hour(points, 12)
    assert decide("m", now, seen, History(), policy(), STEP).decision == "ok"


def test_too_few_rows_is_insufficient_data() -> None:
    points = timeline(lambda h: 0.9, 12, samples=40)
    now, seen = at_hour(points, 12)
    decision = decide("m", now, seen, History(), policy(), STEP)
    assert decision.decision == "insufficient_data"
    assert "fewer than 500 rows in the 1h window: x (40), y (40)" in decision.reasons[0]
    assert decide("m", now, [], History(), policy(), STEP).decision == "insufficient_data"


def test_cooldown_cap_and_dedup_suppress() -> None:
    points = timeline(lambda h: 0.4 if h >= 4 else 0.02, 12)
    now, seen = at_hour(points, 12)
    # an earlier episode's dispatch, before this one began at 04:00
    recent = History((Dispatch(now - timedelta(hours=9), "m-other"),))
    decision = decide("m", now, seen, recent, policy(), STEP)
    assert decision.decision == "suppressed"
    assert decision.reasons[-1].startswith("cooldown: last dispatch")
    capped = History(
        (Dispatch(now - timedelta(days=3), "a"), Dispatch(now - timedelta(days=2), "b"))
    )
    assert (
        "weekly cap: 2 dispatch(es)" in decide("m", now, seen, capped, policy(), STEP).reasons[-1]
    )
    pr = History(open_pull_request="#12")
    assert (
        "pull request for m is open (#12)" in decide("m", now, seen, pr, policy(), STEP).reasons[-1]
    )
    running = History(active_run="m-20260301T0400Z")
    assert "queued or running" in decide("m", now, seen, running, policy(), STEP).reasons[-1]
    first = decide("m", now, seen, History(), policy(), STEP)
    assert first.trigger_id == "m-20260301T0400Z"
    again = History((Dispatch(now - timedelta(days=9), first.trigger_id or ""),))
    assert (
        "already dispatched for this drift episode"
        in decide("m", now, seen, again, policy(), STEP).reasons[-1]
    )


def test_min_drifted_features_and_ignored_features() -> None:
    points = timeline(lambda h: 0.4, 12)
    now, seen = at_hour(points, 12)
    assert (
        decide("m", now, seen, History(), policy(min_drifted_features=2), STEP).decision == "warn"
    )
    doc = {
        "apiVersion": "driftloop/v1", "kind": "DriftPolicy",
        "models": {"m": {"features": {"x": {"ignore": True}}}},
    }  # fmt: skip
    ignoring = parse_document(DriftPolicy, doc, "test")
    assert decide("m", now, seen, History(), ignoring, STEP).decision == "ok"


def test_sample_size_aware_threshold_ignores_noise_on_small_windows() -> None:
    noisy = timeline(lambda h: 0.3, 12, samples=600)
    now, seen = at_hour(noisy, 12)
    aware = policy(sample_size_aware={"enabled": True, "alpha": 0.01})
    with_bins = [
        Snapshot(
            s.at,
            {
                k: FeatureSignal(k, v.psi, v.samples, "1", 1000.0, 200)
                for k, v in s.features.items()
            },
        )
        for s in seen
    ]
    # 200 bins: PSI 0.3 * (1000*600/1600 = 375) = 112 < chi2(199) quantile ~ 249: noise
    assert decide("m", now, with_bins, History(), aware, STEP).decision == "ok"
    assert decide("m", now, with_bins, History(), policy(), STEP).decision == "trigger"


def test_disabled_model_is_suppressed() -> None:
    doc = {"apiVersion": "driftloop/v1", "kind": "DriftPolicy", "models": {"m": {"enabled": False}}}
    disabled = parse_document(DriftPolicy, doc, "test")
    points = timeline(lambda h: 0.4, 12)
    now, seen = at_hour(points, 12)
    assert decide("m", now, seen, History(), disabled, STEP).reasons == [
        "disabled in the drift policy"
    ]


def test_a_lasting_shift_is_dispatched_once_a_week_at_most() -> None:
    points = timeline(lambda h: 0.4 if h >= 1 else 0.02, 72)
    p = policy(cooldown="2h", max_triggers_per_week=5)
    settings = p.settings_for("m")
    lookback = settings.sustain + max(settings.sustain, settings.cooldown)
    result = replay(
        "m", points, p, T0 + timedelta(hours=1), T0 + timedelta(hours=72), STEP, lookback
    )
    assert len(result.triggers) == 1
    assert "already dispatched for this drift episode" in result.suppressed[-1].reasons[-1]


def test_backtest_simulates_cooldown_and_weekly_cap() -> None:
    # three separate 8-hour episodes, 4 hours apart
    def psi(h: float) -> float:
        return 0.4 if h % 12 < 8 and h >= 1 else 0.02

    points = timeline(psi, 36)
    settings = policy(cooldown="2h").settings_for("m")
    lookback = settings.sustain + max(settings.sustain, settings.cooldown)
    capped = replay(
        "m",
        points,
        policy(cooldown="2h", max_triggers_per_week=2),
        T0,
        T0 + timedelta(hours=36),
        STEP,
        lookback,
    )
    assert len(capped.triggers) == 2
    assert "weekly cap: 2 dispatch(es)" in capped.suppressed[-1].reasons[-1]
    cooled = replay("m", points, policy(cooldown="24h", max_triggers_per_week=5), T0, T0 + timedelta(hours=36), STEP,
                    timedelta(hours=30))  # fmt: skip
    assert len(cooled.triggers) == 2  # episode 1 and, 24h later, episode 3; episode 2 cooled
    assert cooled.triggers[1].at - cooled.triggers[0].at >= timedelta(hours=24)
