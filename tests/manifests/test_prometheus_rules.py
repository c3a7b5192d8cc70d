"""The PrometheusRule: generated from the policy, valid for promtool, unit-tested by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from driftloop.config import load_drift_policy
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
    shutil.copy(ROOT / "tests/rules/drift_rules.test.yaml", tmp_path)
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


def test_promtool_unit_tests(rules_dir: Path) -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", "drift_rules.test.yaml"],
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
        "FeatureOutOfRange", "FairnessDrift",
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
