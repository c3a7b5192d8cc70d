"""The PrometheusRule: generated from the policy, valid for promtool, unit-tested by promtool."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from driftloop.config import load_drift_policy, parse_duration
from driftloop.generate.rules import render_prometheus_rule, settings_from_policy

ROOT = Path(__file__).resolve().parents[2]
RULE_FILE = ROOT / "k8s/base/prometheus-rule.yaml"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package (scripts/setup.sh)")
    return path


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    spec = yaml.safe_load(RULE_FILE.read_text())["spec"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    for test_file in (ROOT / "tests/rules").glob("*.test.yaml"):
        shutil.copy(test_file, tmp_path)
    return tmp_path


def test_rule_file_is_generated_from_the_policy() -> None:
    settings = settings_from_policy(load_drift_policy(ROOT / "policies/drift.yaml"))
    assert RULE_FILE.read_text() == render_prometheus_rule(settings), (
        "k8s/base/prometheus-rule.yaml is stale: run `make rules`"
    )


def test_promtool_check_rules(rules_dir: Path) -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", "rules.yaml"],
        cwd=rules_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", ["drift_rules.test.yaml", "long_window.test.yaml"])
def test_promtool_unit_tests(rules_dir: Path, test_file: str) -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", test_file],
        cwd=rules_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    groups = yaml.safe_load(RULE_FILE.read_text())["spec"]["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    names = {alert["alert"] for alert in alerts}
    assert names == {
        "FeatureDriftWarning", "FeatureDriftCritical", "PredictionDrift", "ModelPerformanceDrop",
        "ModelServerErrors", "LatencySLOBreach", "DriftTelemetryAbsent", "ModelTelemetryAbsent",
        "DriftCheckStale", "CanaryAborted", "ProductionChangeUnapproved",
        "FeatureDriftDetected", "QualityDropDetected", "EstimatedQualityDropDetected",
        "FeatureOutOfRange", "FairnessDrift", "FeatureDriftLongWindow",
    }  # fmt: skip
    runbook = (ROOT / "docs/runbook.md").read_text()
    for alert in alerts:
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        anchor = alert["annotations"]["runbook_url"].split("#")[1]
        assert f"## {alert['alert']}" in runbook, f"docs/runbook.md lacks a section for {anchor}"


def test_recording_rule_names_follow_the_contract() -> None:
    groups = yaml.safe_load(RULE_FILE.read_text())["spec"]["groups"]
    records = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    for window in ("5m", "1h", "24h"):
        assert f"driftloop:feature_psi:{window}" in records
        assert f"driftloop:feature_samples:{window}" in records
        assert f"driftloop:prediction_psi:{window}" in records


def test_every_group_the_check_reads_is_evaluated_within_the_lookback() -> None:
    """An instant query sees a rule's sample only from the last 5 minutes (Prometheus's
    lookback): a group evaluated every 15m (the 24h one, before) reads as absent most of the
    time. Only the daily increments, read through sum_over_time, may be slower."""
    groups = yaml.safe_load(RULE_FILE.read_text())["spec"]["groups"]
    slow = {g["name"] for g in groups if parse_duration(g["interval"]) > timedelta(minutes=5)}
    assert slow == {"driftloop-daily"}
    assert {g["name"] for g in groups} >= {"driftloop-24h", "driftloop-30d"}
