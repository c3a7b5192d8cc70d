"""Fast detection (#20.1): the check state ``detected`` on the 5m window, noise-aware."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from driftloop.config import DriftPolicy
from driftloop.config.base import parse_document
from driftloop.drift.stats import psi
from driftloop.policy import FeatureSignal, History, Snapshot, decide
from driftloop.policy.decide import classify
from driftloop.policy.detection import noise_bound, wilson_hilferty
from driftloop.policy.signals import QualitySignal

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
DETECTION = {"window": "5m", "alpha": 0.001, "min_samples": 50, "hold": "5m"}


def policy(**defaults: object) -> DriftPolicy:
    base: dict[str, object] = {
        "window": "1h", "min_samples": 500, "sustain": "6h", "detection": DETECTION,
        "thresholds": {"psi": {"warn": 0.1, "critical": 0.25}},
    }  # fmt: skip
    base.update(defaults)
    doc = {"apiVersion": "driftloop/v1", "kind": "DriftPolicy", "defaults": base}
    return parse_document(DriftPolicy, doc, "test")


def snapshot(at: datetime, psi_1h: float, fast: Snapshot | None) -> Snapshot:
    return Snapshot(at, {"x": FeatureSignal("x", psi_1h, 1000, "1")}, fast=fast)


def fast_signal(psi_5m: float, rows: float, bins: int = 3, min_share: float = 0.5) -> Snapshot:
    return Snapshot(T0, {"x": FeatureSignal("x", psi_5m, rows, "1", 10_000, bins, min_share)})


@pytest.mark.parametrize("dof", [1, 2, 3, 9, 10, 19, 50])
def test_the_wilson_hilferty_quantile_is_within_3_percent_and_not_below_the_exact_one(
    dof: int,
) -> None:
    exact = scipy_stats.chi2.ppf(0.999, dof)
    approximate = wilson_hilferty(dof, 0.001)
    assert exact <= approximate <= exact * 1.031


def test_the_noise_bound_is_the_one_the_rules_record() -> None:
    """The promtool test computes 0.178075 for the same counts (tests/rules)."""
    assert round(noise_bound(3, 80, 10_000, 0.001) * 1e6) == 178075
    assert round(noise_bound(3, 50, 10_000, 0.001) * 1e6) == 284072


def held(now: datetime, fast: Snapshot, before: Snapshot | None = None) -> list[Snapshot]:
    """Snapshots up to ``now`` with ``fast`` now and ``before`` (default: the same) one hold
    (5m) earlier."""
    points = [snapshot(T0 + i * STEP, 0.02, None) for i in range(int((now - T0) / STEP) - 1)]
    points.append(snapshot(now - STEP, 0.02, before or fast))
    points.append(snapshot(now, 0.05, fast))
    return points


def test_a_shift_on_the_fast_window_is_detected_not_dispatched() -> None:
    now = T0 + timedelta(hours=1)
    decision = decide("m", now, held(now, fast_signal(0.2747, 80)), History(), policy(), STEP)
    assert decision.decision == "detected"
    assert decision.trigger_id is None
    assert decision.signal == "feature_drift"
    assert decision.reasons[0] == (
        "detected, not decided: x PSI 0.275 over 5m >= critical 0.25 and > noise bound 0.178 "
        "(80 rows)"
    )
    assert decision.evidence["detected"]["found"][0]["noise_bound"] == 0.1781


def test_psi_above_critical_within_sampling_noise_is_not_detected() -> None:
    now = T0 + timedelta(hours=1)
    for fast in (fast_signal(0.2747, 50), fast_signal(0.9, 49), fast_signal(0.2, 500)):
        assert decide("m", now, held(now, fast), History(), policy(), STEP).decision == "ok"


def test_a_feature_whose_smallest_bin_expects_under_5_rows_is_not_judged_on_the_fast_window() -> (
    None
):
    """A 3.7% bin (churn's support_calls) expects 3 of 83 rows: PSI there is not chi-squared
    (an empty bin alone adds 0.2), so the hourly window judges it."""
    now = T0 + timedelta(hours=1)
    thin = fast_signal(0.9, 83, bins=6, min_share=0.037)
    assert decide("m", now, held(now, thin), History(), policy(), STEP).decision == "ok"
    enough = fast_signal(0.9, 136, bins=6, min_share=0.037)
    assert decide("m", now, held(now, enough), History(), policy(), STEP).decision == "detected"


def test_a_shift_seen_in_one_window_only_is_not_detected() -> None:
    """The check holds the condition as the alert's ``for:`` does: now and 5m earlier."""
    now = T0 + timedelta(hours=1)
    shifted, quiet = fast_signal(0.9, 500), fast_signal(0.01, 500)
    assert decide("m", now, held(now, shifted, quiet), History(), policy(), STEP).decision == "ok"
    assert decide("m", now, held(now, quiet, shifted), History(), policy(), STEP).decision == "ok"
    lone = [snapshot(now, 0.05, shifted)]  # nothing known 5m earlier
    assert decide("m", now, lone, History(), policy(), STEP).decision == "ok"


def test_without_a_detection_block_the_fast_window_is_not_read() -> None:
    now = T0 + timedelta(hours=1)
    points = held(now, fast_signal(0.9, 500))
    undetected = policy(detection=None)
    assert decide("m", now, points, History(), undetected, STEP).decision == "ok"


def test_a_sustained_trigger_outranks_detection() -> None:
    now = T0 + timedelta(hours=7)
    points = [snapshot(T0 + i * STEP, 0.5, None) for i in range(12 * 7 - 1)]
    points += [snapshot(now - STEP, 0.5, fast_signal(0.9, 500)),
               snapshot(now, 0.5, fast_signal(0.9, 500))]  # fmt: skip
    decision = decide("m", now, points, History(), policy(), STEP)
    assert decision.decision == "trigger"
    assert decision.trigger_id is not None
    assert decision.evidence["warnings"] == ["feature_drift"]  # the detection, as a warning


def test_sampling_noise_at_the_shipped_traffic_is_rarely_detected() -> None:
    """83 rows in 5m (1,000 an hour) drawn from the reference itself, 10 bins (two of 5%):
    PSI alone is above 0.25 in a sizeable share of windows, and an empty 5% bin (PSI 0.31)
    passes the noise bound in ~3% of them; held over two disjoint windows, ~0.1%."""
    rng = np.random.default_rng(7)
    reference = np.array([0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.15, 0.15])
    counts = (reference * 10_000).astype(int)
    windows = rng.multinomial(83, reference, size=(20_000, 2))
    scores = np.array([[psi(counts, w).score for w in pair] for pair in windows])
    bound = noise_bound(10, 83, 10_000, 0.001)
    passes = (scores >= 0.25) & (scores > bound)
    assert (scores[:, 1] >= 0.25).mean() > 0.05  # what a plain threshold would detect
    assert 0.01 < passes[:, 1].mean() < 0.05  # one window: the empty-bin tail
    assert passes.all(axis=1).mean() < 0.003  # held: both windows


def test_realised_quality_on_the_fast_window_is_detected_where_labels_arrive_that_fast() -> None:
    performance = {"window": "1h", "min_labels": 500, "sustain": "2h",
                   "thresholds": {"roc_auc": {"warn": 0.8, "critical": 0.75}}}  # fmt: skip
    now = T0 + timedelta(hours=1)
    quick = Snapshot(now, {}, {"roc_auc": QualitySignal("roc_auc", 0.6, 600, "1")})
    slow = replace(quick, quality={"roc_auc": QualitySignal("roc_auc", 0.6, 80, "1")})

    def points(fast: Snapshot) -> list[Snapshot]:
        return [Snapshot(now - STEP, {}, fast=fast), Snapshot(now, {}, fast=fast)]

    for fast, expected in ((quick, "detected"), (slow, "insufficient_data")):
        decision = decide("m", now, points(fast), History(), policy(performance=performance), STEP)
        assert decision.decision == expected
    decision = decide("m", now, points(quick), History(), policy(performance=performance), STEP)
    assert decision.signal == "realised_performance"
    assert "realised roc_auc 0.600 < critical 0.75 (5m, 600 labels)" in decision.reasons[0]


def test_a_detection_is_kept_for_10_minutes_after_it_last_held_as_the_alert_keeps_firing() -> None:
    """At a few dozen rows a real shift's PSI dips below the bound now and then; the alert's
    keep_firing_for and the check's ``keep`` bridge the dips, and no longer."""
    now = T0 + timedelta(hours=1)
    shifted, quiet = fast_signal(0.9, 500), fast_signal(0.01, 500)

    def points(shifted_minutes_ago: set[int]) -> list[Snapshot]:
        return [
            snapshot(
                now - timedelta(minutes=m), 0.02, shifted if m in shifted_minutes_ago else quiet
            )
            for m in (30, 25, 20, 15, 10, 5, 0)
        ]

    kept = decide("m", now, points({15, 10}), History(), policy(), STEP)
    assert kept.decision == "detected"
    assert kept.evidence["detected"]["at"] == (now - timedelta(minutes=10)).isoformat()
    assert kept.reasons[0].endswith(f"(as of {(now - timedelta(minutes=10)).isoformat()})")
    gone = decide("m", now, points({25, 20}), History(), policy(), STEP)
    assert gone.decision == "ok"


def test_hellinger_levels_are_honoured_like_psi() -> None:
    """#20.6: a feature is critical when any configured statistic is; before, hellinger
    thresholds validated and were ignored."""
    now = T0 + timedelta(hours=1)
    signal = FeatureSignal("x", 0.05, 1000, "1", hellinger=0.3)
    point = [Snapshot(now, {"x": signal})]
    levels = {"psi": {"warn": 0.1, "critical": 0.25}, "hellinger": {"warn": 0.1, "critical": 0.2}}
    with_hellinger = policy(detection=None, thresholds=levels)
    decision = decide("m", now, point, History(), with_hellinger, STEP)
    assert decision.reasons[0] == "critical now: x"
    assert decision.evidence["top_features"][0]["hellinger"] == 0.3
    psi_only = policy(detection=None)
    assert classify(point[0], "m", with_hellinger, with_hellinger.settings_for("m")).state == (
        "critical"
    )
    assert classify(point[0], "m", psi_only, psi_only.settings_for("m")).state == "ok"
    assert with_hellinger.uses_hellinger("m")
    assert not psi_only.uses_hellinger("m")


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("  thresholds:\n    wasserstein: {warn: 0.1, critical: 0.2}\n", "defaults.thresholds.wasserstein"),
        ("models:\n  churn:\n    features:\n      tenure_months:\n        jensenshannon: {warn: 0.1, critical: 0.2}\n",
         "models.churn.features.tenure_months.jensenshannon"),
    ],
)  # fmt: skip
def test_a_statistic_the_check_cannot_compute_is_refused_naming_the_key(
    tmp_path: Path, extra: str, key: str
) -> None:
    import subprocess
    import sys

    policy_file = tmp_path / "drift.yaml"
    policy_file.write_text(
        "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults:\n  window: 1h\n" + extra
    )
    root = Path(__file__).resolve().parents[2]
    for command in ("check", "backtest"):
        args = ["--start", "-1d"] if command == "backtest" else ["--dry-run"]
        result = subprocess.run(
            [sys.executable, "-m", "driftloop", command, "--policy", str(policy_file), "--models",
             str(root / "models"), "--prometheus", "http://127.0.0.1:9", *args],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert key in result.stderr
        assert "Traceback" not in result.stderr


PERFORMANCE_RELATIVE = {
    "window": "1h", "min_labels": 500, "sustain": "2h",
    "thresholds": {"roc_auc": {"max_drop": {"warn": 0.03, "critical": 0.05}}},
}  # fmt: skip


@pytest.mark.parametrize(
    ("auc", "training", "version", "level"),
    [(0.74, 0.80, "1", "critical"), (0.76, 0.80, "1", "warn"), (0.78, 0.80, "1", "ok"),
     (0.74, 0.80, "2", "insufficient_data")],
)  # fmt: skip
def test_auroc_levels_relative_to_training(
    auc: float, training: float, version: str, level: str
) -> None:
    """#20.4, seed 002's "AUROC: -5 pp vs training": the levels are the version's training
    value minus max_drop; another version's training value is not compared with."""
    from driftloop.policy.quality import judge

    performance = policy(performance=PERFORMANCE_RELATIVE).settings_for("m").performance
    assert performance is not None
    point = Snapshot(T0, {}, {
        "roc_auc": QualitySignal("roc_auc", auc, 900, "1"),
        "reference_roc_auc": QualitySignal("reference_roc_auc", training, 0, version),
    })  # fmt: skip
    state = judge(point, performance, estimated=False)
    assert state.level == level
    if level == "critical":
        assert state.breaches[0].describe("1h") == (
            "realised roc_auc 0.740 < critical 0.750 (training 0.800 - 0.05) (1h, 900 labels)"
        )
        assert state.breaches[0].to_dict()["training"] == 0.8


@pytest.mark.parametrize(
    ("thresholds", "key"),
    [({"mae": {"max_drop": {"warn": 0.1, "critical": 0.2}}}, "thresholds.mae.max_drop"),
     ({"roc_auc": {"max_drop": {"warn": 0.05, "critical": 0.03}}}, "critical"),
     ({"roc_auc": {"max_drop": {"warn": 0.03, "critical": 1.5}}}, "critical")],
)  # fmt: skip
def test_relative_levels_that_mean_nothing_are_refused(thresholds: object, key: str) -> None:
    from driftloop.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        policy(performance={**PERFORMANCE_RELATIVE, "thresholds": thresholds})
    assert key in str(caught.value)


def test_the_adapter_reads_the_training_value_of_the_version_it_judges() -> None:
    """One range query carries the recorded quality and driftloop_reference_metric."""
    import json

    from tests.support.canned_http import canned

    from driftloop.adapters.prometheus import PrometheusSource

    at = 1_767_225_600
    result = [
        {"metric": {"__name__": "driftloop:model_roc_auc:1h", "model": "m", "version": "2"},
         "values": [[at, "0.71"]]},
        {"metric": {"__name__": "driftloop:feedback_scored_samples:1h", "model": "m",
                    "version": "2"}, "values": [[at, "900"]]},
        {"metric": {"__name__": "driftloop_reference_metric", "model": "m", "version": "2",
                    "metric": "roc_auc", "instance": "a"}, "values": [[at, "0.8"]]},
        {"metric": {"__name__": "driftloop_reference_metric", "model": "m", "version": "1",
                    "metric": "roc_auc", "instance": "b"}, "values": [[at, "0.9"]]},
    ]  # fmt: skip
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    moment = datetime.fromtimestamp(at, UTC)
    with canned(body) as url, PrometheusSource(url) as source:
        found = source.quality(["m"], "1h", moment, moment, STEP)
    signals = found["m"][moment]
    assert signals["roc_auc"].value == 0.71
    assert signals["reference_roc_auc"].value == 0.8  # version 2's, not version 1's 0.9
    assert signals["reference_roc_auc"].version == "2"


def test_out_of_range_counts_finite_values_beyond_4_standard_deviations() -> None:
    """#20.3: NaN (missing) is not counted; a constant reference counts any other value."""
    from driftloop.drift.profile import count_beyond

    values = np.array([10.0, 14.0, 14.1, 5.9, np.nan, -np.inf, 1000.0])
    assert count_beyond(values, 10.0, 1.0) == 3  # 14.1, 5.9, 1000.0 (4.0 is not beyond)
    assert count_beyond(np.array([1.0, 1.0, 2.0, np.nan]), 1.0, 0.0) == 1
    assert count_beyond(values, None, None) == 0


def test_profiles_keep_the_reference_mean_and_std_and_refuse_half_of_them() -> None:
    from driftloop.drift import build_profile
    from driftloop.drift.profile import Profile
    from driftloop.errors import DataError

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, np.nan], "c": ["a", "b", "a", "a", "b"]})
    profile = build_profile(frame, {"x": "numeric", "c": "categorical"})
    assert profile.features["x"].mean == 2.5
    assert profile.features["x"].std == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0]))
    assert profile.features["x"].beyond == 0.0
    assert profile.features["c"].mean is None
    data = profile.to_dict()
    assert Profile.from_dict(data).features["x"].mean == 2.5
    del data["features"]["x"]["std"]
    with pytest.raises(DataError, match="x: mean and std come together"):
        Profile.from_dict(data)
    data["features"]["x"].pop("mean")
    assert Profile.from_dict(data).features["x"].mean is None  # a profile from before #20


def test_the_check_warns_of_values_out_of_range_beside_psi() -> None:
    now = T0 + timedelta(hours=1)
    broken = FeatureSignal("x", 0.02, 1000, "1", out_of_range=0.3)
    decision = decide("m", now, [Snapshot(now, {"x": broken})], History(), policy(), STEP)
    assert decision.decision == "warn"
    assert decision.signal == "out_of_range"
    assert decision.reasons == [
        "x: 30.0% more rows beyond |z| > 4 than in the reference (allowed 1.0% more)"
    ]
    assert decision.evidence["out_of_range"] == {"x": 0.3}
    one = FeatureSignal("x", 0.02, 100, "1", out_of_range=0.04)  # 4 rows: under min_rows 5
    few = policy(min_samples=50)
    assert decide("m", now, [Snapshot(now, {"x": one})], History(), few, STEP).decision == "ok"
    off = policy(out_of_range=None)
    assert decide("m", now, [Snapshot(now, {"x": broken})], History(), off, STEP).decision == "ok"


def test_a_reference_too_wide_for_a_standard_deviation_gets_no_range() -> None:
    """Hypothesis found values near 1e154: their std overflows. No range, no count."""
    from driftloop.drift import build_profile

    profile = build_profile(pd.DataFrame({"x": [0.0, 1.9e154, 1.0]}), {"x": "numeric"})
    assert profile.features["x"].mean is None
    assert profile.features["x"].std is None


def test_detection_holds_whatever_the_checks_step() -> None:
    """With a 10m step the point one hold (5m) earlier is not on the grid: the latest point
    at least 5m earlier stands in for it (before: no detection at all at such a step)."""
    now = T0 + timedelta(hours=1)
    shifted = fast_signal(0.9, 500)
    points = [snapshot(now - timedelta(minutes=m), 0.02, shifted) for m in (20, 10, 0)]
    decision = decide("m", now, points, History(), policy(), timedelta(minutes=10))
    assert decision.decision == "detected"
    lone = [snapshot(now - timedelta(minutes=m), 0.02, f) for m, f in
            ((10, fast_signal(0.01, 500)), (0, shifted))]  # fmt: skip
    assert decide("m", now, lone, History(), policy(), timedelta(minutes=10)).decision == "ok"
