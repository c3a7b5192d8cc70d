"""Onset to first alert and onset to trigger, per scenario (issue #20).

churn's champion (fitted on the reference data) is served in-process through the server's own
parsing and counting code (driftloop.serve: parse_scoring, Telemetry), one minute of each
scenario's stream (1,000 rows an hour, every row labelled at once) at a time; its metrics
are read after every minute, as a 1m scrape would.
- **Alerts**: those counters are promtool's input series, evaluated with the generated rules
  (k8s/base/prometheus-rule.yaml, every group, 1m evaluation): the first time each alert
  fires, from ``ALERTS``.
- **Check**: ``decide`` (what ``driftloop check`` and ``backtest`` run) every 5 minutes with
  the shipped policy, on PSI, rows and realised AUC computed from the same counters' window
  increments (the drift engine's PSI, which equals the rules' on the same counts): the first
  ``detected`` and the first ``trigger``.

Run: python benchmarks/detection.py [--hours 20]  (prints a markdown table)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from driftloop.config import load_drift_policy, load_model
from driftloop.demo.counters import promtool_series
from driftloop.drift.binned_quality import binned_auc
from driftloop.drift.profile import Profile
from driftloop.drift.stats import psi
from driftloop.loop.check import lookback
from driftloop.policy import FeatureSignal, Snapshot
from driftloop.policy.backtest import replay
from driftloop.policy.decision import Decision
from driftloop.policy.signals import QualitySignal
from driftloop.serve.payload import parse_scoring
from driftloop.serve.telemetry import Telemetry
from driftloop.synthetic import scenarios
from driftloop.train.bundle import ModelBundle
from driftloop.train.fit import fit_model

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("persistent", "transient", "concept", "covariate", "none")
ALERTS = ("FeatureDriftDetected", "FeatureDriftCritical", "QualityDropDetected",
          "ModelPerformanceDrop", "PredictionDrift")  # fmt: skip
Key = tuple[str, tuple[tuple[str, str], ...]]


def scrapes(bundle: ModelBundle, frame: pd.DataFrame, minutes: int) -> Iterator[dict[Key, float]]:
    """The server's counters after each minute of ``frame`` (scored, then its labels fed back)."""
    telemetry = Telemetry(bundle)
    spec = bundle.spec
    elapsed = (frame["event_time"] - scenarios.STREAM_START).dt.total_seconds() // 60
    for minute in range(minutes + 1):
        rows = frame[elapsed == minute - 1]
        if len(rows):
            records = rows[spec.feature_names].to_dict(orient="records")
            body = json.dumps({"dataframe_records": records}, default=str).encode()
            columns = parse_scoring(body, spec, 10_000)
            predictions, outputs = bundle.outputs_of_columns(columns)
            telemetry.observe(columns, outputs)
            telemetry.observe_feedback(predictions.tolist(), rows[spec.target].tolist(),
                                       np.asarray(outputs, dtype=float).tolist())  # fmt: skip
        values: dict[Key, float] = {}
        for metric in telemetry.registry.collect():
            for sample in metric.samples:
                if not sample.name.endswith(("_created", "_bucket", "_sum", "_count")):
                    values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        yield values


def first_alerts(series: dict[Key, list[float]], hours: int, work: Path) -> dict[str, float]:
    """Seconds from the stream's start to each alert's first firing (promtool, real rules)."""
    groups = yaml.safe_load((ROOT / "k8s/base/prometheus-rule.yaml").read_text())["spec"]
    (work / "rules.yaml").write_text(yaml.safe_dump(groups))
    inputs = promtool_series([(name, dict(labels), values) for (name, labels), values
                              in series.items()])  # fmt: skip
    tests = [
        {"expr": f'min(min_over_time(timestamp(ALERTS{{alertname="{name}",alertstate="firing"}})'
                 f"[{hours}h:1m]))", "eval_time": f"{hours}h", "exp_samples": []}
        for name in ALERTS
    ]  # fmt: skip
    test = {"interval": "1m", "input_series": inputs, "promql_expr_test": tests}
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [test]}
    (work / "test.yaml").write_text(yaml.safe_dump(document, width=1 << 20))
    promtool = shutil.which("promtool") or "promtool"
    result = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=work,
                            capture_output=True, text=True, check=False)  # fmt: skip
    output = result.stdout + result.stderr  # promtool prints failed expectations on stderr
    found = {}
    for name in ALERTS:  # a failed expectation prints what the expression returned
        hit = re.search(rf'alertname=\\"{name}\\".*?got: \{{\}} ([0-9.E+-]+)', output, re.S)
        if hit:
            found[name] = float(hit.group(1))
    return found


def window(series: dict[Key, list[float]], name: str, minute: int, span: int) -> dict[Key, float]:
    """Each ``name`` counter's increase over the ``span`` minutes up to ``minute``."""
    start = max(minute - span, 0)
    return {k: v[minute] - v[start] for k, v in series.items() if k[0] == name}


def _feature_signals(
    series: dict[Key, list[float]], profile: Profile, minute: int, span: int
) -> dict[str, FeatureSignal]:
    counts = window(series, "driftloop_feature_bin_total", minute, span)
    signals = {}
    for name, feature in profile.features.items():
        keys = [_key("driftloop_feature_bin_total", feature=name, bin=b) for b in feature.bins]
        current = np.array([counts.get(k, 0.0) for k in keys])
        if current.sum() == 0:
            continue
        score = psi(np.asarray(feature.counts), current).score
        smallest = min(r for r in feature.ratios if r > 0)
        signals[name] = FeatureSignal(name, score, float(current.sum()), "1", profile.n_rows,
                                      len(feature.bins), smallest)  # fmt: skip
    return signals


def _key(name: str, **labels: str) -> Key:
    return name, tuple(sorted({"model": "churn", "version": "1", **labels}.items()))


def _realised_auc(
    series: dict[Key, list[float]], profile: Profile, minute: int
) -> dict[str, QualitySignal]:
    scored = window(series, "driftloop_feedback_score_bin_total", minute, 60)
    bins = profile.prediction.bins if profile.prediction else ()
    name = "driftloop_feedback_score_bin_total"
    of = {
        kind: np.array([scored.get(_key(name, **{"class": kind, "bin": b}), 0.0) for b in bins])
        for kind in ("negative", "positive")
    }
    auc = binned_auc(of["negative"], of["positive"])
    if auc is None:
        return {}
    return {
        "roc_auc": QualitySignal(
            "roc_auc", auc, float(of["negative"].sum() + of["positive"].sum()), "1"
        )
    }


def snapshots(series: dict[Key, list[float]], profile: Profile, hours: int) -> list[Snapshot]:
    """What the check reads every 5 minutes: 1h PSI and rows, realised AUC over 1h, and the
    5m window's PSI, rows and bins (fast detection)."""
    points = []
    for minute in range(60, hours * 60 + 1, 5):
        at = scenarios.STREAM_START + timedelta(minutes=minute)
        fast = Snapshot(at, _feature_signals(series, profile, minute, 5))
        points.append(Snapshot(at, _feature_signals(series, profile, minute, 60),
                               _realised_auc(series, profile, minute), fast=fast))  # fmt: skip
    return points


def _since(decision: Decision | None, onset: datetime) -> str:
    if decision is None or decision.at is None:
        return "never"
    return f"+{decision.at - onset} ({decision.signal})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=20)
    args = parser.parse_args()
    spec = load_model("churn", ROOT / "models")
    fitted = fit_model(spec, scenarios.reference("churn"))
    bundle = ModelBundle(spec, fitted.pipeline, fitted.profile, "1", fitted.metrics)
    policy = load_drift_policy(ROOT / "policies/drift.yaml")
    onset = scenarios.ONSET_HOURS * 3600
    print("| scenario | alerts after onset (first firing) | check `detected` | check `trigger` |")
    print("|---|---|---|---|")
    for scenario in SCENARIOS:
        frame = scenarios.stream("churn", scenario, hours=args.hours)
        series: dict[Key, list[float]] = {}
        for minute, values in enumerate(scrapes(bundle, frame, args.hours * 60)):
            for key, value in values.items():
                series.setdefault(key, [0.0] * minute).append(value)
        with tempfile.TemporaryDirectory() as work:
            fired = first_alerts(series, args.hours, Path(work))
        points = snapshots(series, bundle.profile, args.hours)
        start = scenarios.STREAM_START + timedelta(hours=2)
        result = replay("churn", points, policy, start, points[-1].at, timedelta(minutes=5),
                        lookback(policy, "churn"))  # fmt: skip
        t0 = scenarios.STREAM_START + timedelta(hours=scenarios.ONSET_HOURS)

        after = {n: s - onset for n, s in fired.items() if s >= onset}
        detected = next((d for d in result.detections if d.at and d.at >= t0), None)
        trigger = next((d for d in result.triggers if d.at and d.at >= t0), None)
        ordered = sorted(after.items(), key=lambda item: item[1])
        listed = ", ".join(f"{n} +{timedelta(seconds=s)}" for n, s in ordered)
        print(
            f"| {scenario} | {listed or 'none'} | {_since(detected, t0)} | {_since(trigger, t0)} |"
        )


if __name__ == "__main__":
    main()
