"""driftloop check and backtest on quality, against a real Prometheus holding backfilled
history: the PSI and quality series the recording rules would have written for two days of
each scenario (a churn model trained on the reference data, scored on the stream; labels
arriving as the scenario says). The quality rules themselves are promtool-tested against
hand-computed values (tests/rules); here the policy acts on their output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.history import backfill, quality_series, recorded_series
from tests.support.processes import prometheus

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.adapters.prometheus import PrometheusSource
from driftloop.config import load_drift_policy
from driftloop.loop.check import run_check
from driftloop.synthetic import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

T0 = scenarios.STREAM_START
STEP = timedelta(minutes=5)
# The shipped churn block (policies/drift.yaml: seed 001's AUC thresholds), for every model.
POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
defaults:
  window: 1h
  min_samples: 500
  sustain: 6h
  cooldown: 24h
  max_triggers_per_week: 2
  performance:
    window: 1h
    min_labels: 500
    sustain: 3h
    sustain_fraction: 0.8
    thresholds:
      roc_auc: {warn: 0.80, critical: 0.75}
"""
SCENARIOS = ("concept", "glitch", "none", "label_delay")
START, END = 2, 40  # hours of the stream the checks run over


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("quality")
    series = [s for name in SCENARIOS for s in recorded_series("churn", name, name)]
    series += quality_series("churn", {name: name for name in SCENARIOS})
    backfill(series, work / "tsdb")
    (work / "drift.yaml").write_text(POLICY)
    churn = (ROOT / "models/churn/model.yaml").read_text()
    for name in SCENARIOS:
        (work / "models" / name).mkdir(parents=True)
        (work / "models" / name / "model.yaml").write_text(
            churn.replace("name: churn", f"name: {name}")
        )
    with prometheus(work, [], [], tsdb=work / "tsdb") as url:
        yield url, work / "drift.yaml"


@pytest.fixture(scope="module")
def live(history: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:  # type: ignore[type-arg]
    """A check every 5 minutes over hours 2..40, dispatching to a local repo host."""
    url, policy_path = history
    repo = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    host = LocalRepoHost(repo)
    policy = load_drift_policy(policy_path)
    decisions: dict[str, list] = {name: [] for name in SCENARIOS}  # type: ignore[type-arg]
    with PrometheusSource(url) as source:
        at = T0 + timedelta(hours=START)
        while at <= T0 + timedelta(hours=END):
            for decision in run_check(list(SCENARIOS), source, host, policy, at, STEP).decisions:
                decisions[decision.model].append(decision)
            at += STEP
    return {"decisions": decisions, "dispatches": {n: host.dispatches(n) for n in SCENARIOS}}  # type: ignore[dict-item]


def test_concept_drift_triggers_once_on_realised_auc(live: dict[str, dict]) -> None:  # type: ignore[type-arg]
    fired = [d for d in live["decisions"]["concept"] if d.decision == "trigger"]
    assert len(fired) == 1
    assert len(live["dispatches"]["concept"]) == 1
    trigger = fired[0]
    assert trigger.signal == "realised_performance"
    assert trigger.reasons[0].startswith("realised roc_auc 0.")
    assert "< critical 0.75 (1h, " in trigger.reasons[0]
    # inputs did not move: no feature drift behind it
    assert all(d.signal != "feature_drift" for d in fired)
    onset = T0 + timedelta(hours=scenarios.ONSET_HOURS)
    # within the window to fill with post-onset labels + the sustain + one interval
    assert trigger.at is not None
    assert onset < trigger.at <= onset + timedelta(hours=1 + 3, minutes=5)
    record = json.dumps(live["dispatches"]["concept"][0], default=str)
    assert "performance: realised roc_auc" in record


def test_a_bad_batch_of_labels_and_steady_quality_never_trigger(live: dict[str, dict]) -> None:  # type: ignore[type-arg]
    glitch = live["decisions"]["glitch"]
    assert [d for d in glitch if d.decision == "trigger"] == []
    # it did register: the AUC crossed critical while the batch sat in the window
    assert any("< critical 0.75" in " ".join(d.reasons) for d in glitch)
    assert live["dispatches"]["glitch"] == []
    assert live["dispatches"]["none"] == []


def test_the_estimate_reads_scored_rows_while_labels_are_a_day_late(
    live: dict[str, dict],  # type: ignore[type-arg]
) -> None:
    decisions = {d.at: d for d in live["decisions"]["label_delay"]}
    labels_arrive = T0 + timedelta(hours=24)
    before = decisions[T0 + timedelta(hours=scenarios.ONSET_HOURS + 1)]
    # no label has reached /feedback yet: realised quality cannot be judged...
    assert before.evidence["realised_performance"]["level"] == "insufficient_data"
    # ...while the estimate judges every scored row of the window
    estimate = before.evidence["estimated_performance"]
    assert estimate["level"] in ("ok", "warn", "critical")
    assert estimate["breaches"][0]["rows"] >= 500
    realised = [
        at for at, d in decisions.items()
        if d.evidence.get("realised_performance", {}).get("level") not in (None, "insufficient_data")
    ]  # fmt: skip
    assert realised
    assert min(realised) >= labels_arrive + timedelta(minutes=30)


def test_backtest_counts_equal_the_live_checks(
    history: tuple[str, Path],
    live: dict[str, dict],  # type: ignore[type-arg]
) -> None:
    url, policy = history
    start = (T0 + timedelta(hours=START)).isoformat()
    end = (T0 + timedelta(hours=END)).isoformat()
    models = [arg for name in SCENARIOS for arg in ("--model", name)]
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "backtest", "--prometheus", url,
         "--policy", str(policy), "--models", str(policy.parent / "models"),
         "--start", start, "--end", end, "--json", *models],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["models"]
    for name in SCENARIOS:
        assert report[name]["trigger_count"] == len(live["dispatches"][name]), name
    trigger = report["concept"]["triggers"][0]
    assert trigger["signal"] == "realised_performance"
    assert trigger["at"] == next(
        d.at.isoformat() for d in live["decisions"]["concept"] if d.decision == "trigger"
    )
