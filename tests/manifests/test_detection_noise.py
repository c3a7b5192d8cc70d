"""#20.1 with promtool on the generated rules: a lasting shift fires FeatureDriftDetected
within 15 minutes of onset, while the reference's own traffic at the same rate (1,000 rows an
hour) never fires it in 24 hours. Input: the counters a server would export for churn's
synthetic streams, one scrape a minute (driftloop.demo.counters)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.manifests.test_prometheus_rules import RULE_FILE, promtool

from driftloop.config import load_model
from driftloop.demo.counters import promtool_series, server_counters
from driftloop.drift import build_profile
from driftloop.synthetic import scenarios

ROOT = Path(__file__).resolve().parents[2]
FIRING = 'ALERTS{alertname="FeatureDriftDetected", alertstate="firing"}'
ONSET_SECONDS = int(scenarios.ONSET_HOURS * 3600)


def fast_group() -> dict[str, object]:
    """The 5m group (detection lives there): the other groups cost time and decide nothing."""
    groups = yaml.safe_load(RULE_FILE.read_text())["spec"]["groups"]
    return next(g for g in groups if g["name"] == "driftloop-5m")


def promtool_test(tmp_path: Path, scenario: str, hours: int, tests: list[dict[str, object]]) -> str:
    spec = load_model("churn", ROOT / "models")
    profile = build_profile(scenarios.reference("churn"), spec.feature_types, model="churn")
    frame = scenarios.stream("churn", scenario, hours=hours)
    series = server_counters(profile, frame, pd.Timestamp(scenarios.STREAM_START), hours * 60,
                             {"model": "churn", "version": "1"})  # fmt: skip
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [fast_group()]}))
    test = {"interval": "1m", "input_series": promtool_series(series), "promql_expr_test": tests}
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [test]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(document, width=1 << 20))
    result = subprocess.run([promtool(), "test", "rules", "test.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=900)  # fmt: skip
    return result.stdout + result.stderr if result.returncode else ""


@pytest.mark.integration
def test_the_reference_traffic_never_fires_detection_in_24_hours(tmp_path: Path) -> None:
    failed = promtool_test(tmp_path, "none", 24, [
        {"expr": f"count_over_time({FIRING}[1d])", "eval_time": "24h", "exp_samples": []},
        # the bound is recorded (the test is not passing because nothing is judged)
        {"expr": "count(driftloop:feature_psi_noise_bound:5m) >= bool 4", "eval_time": "24h",
         "exp_samples": [{"labels": "{}", "value": 1}]},
    ])  # fmt: skip
    assert not failed, failed[-3000:]


@pytest.mark.integration
def test_a_lasting_shift_fires_detection_within_15_minutes_of_onset(tmp_path: Path) -> None:
    first = f"min(min_over_time(timestamp({FIRING})[3h:1m]))"
    failed = promtool_test(tmp_path, "persistent", 14, [
        {"expr": f"count_over_time({FIRING}[{ONSET_SECONDS}s])", "eval_time": f"{ONSET_SECONDS}s",
         "exp_samples": []},
        {"expr": f"{first} - {ONSET_SECONDS} <= bool 900", "eval_time": "14h",
         "exp_samples": [{"labels": "{}", "value": 1}]},
    ])  # fmt: skip
    assert not failed, failed[-3000:]
