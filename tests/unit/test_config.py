"""Configuration files: the shipped ones load, broken ones name file, key and problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftloop.config import load_drift_policy, load_gate_policy, load_model
from driftloop.config.schema import SCHEMAS, render_schemas
from driftloop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

DRIFT_POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
models:
  churn:
    features:
      monthly_charges:
        psi: {warn: 0.3, critical: 0.2}
"""


@pytest.fixture
def in_tmp(tmp_path: Path) -> Path:
    cwd = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path  # type: ignore[misc]
    os.chdir(cwd)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["churn", "taxi", "tickets"])
def test_shipped_models_load(name: str) -> None:
    spec = load_model(name, ROOT / "models")
    assert spec.name == name
    assert spec.data.train == f"demo://{name}/reference"
    assert spec.target not in spec.feature_names


def test_shipped_policies_load() -> None:
    drift = load_drift_policy(ROOT / "policies/drift.yaml")
    taxi = drift.thresholds_for("taxi", "passenger_count")
    assert taxi is not None
    assert taxi.psi is not None
    assert (taxi.psi.warn, taxi.psi.critical) == (0.2, 0.4)
    default = drift.thresholds_for("taxi", "trip_distance")
    assert default is not None
    assert default.psi is not None
    assert default.psi.critical == 0.25
    assert drift.settings_for("taxi").min_samples == 500
    assert drift.settings_for("taxi").sustain.total_seconds() == 6 * 3600
    gates = load_gate_policy(ROOT / "policies/gates.yaml")
    assert gates.settings_for("churn").max_relative_regression == 0.05
    assert gates.settings_for("churn").golden_set == "demo://churn/persistent/golden"


def test_error_names_file_key_and_problem(in_tmp: Path) -> None:
    write(in_tmp / "policies/drift.yaml", DRIFT_POLICY)
    with pytest.raises(ConfigError) as caught:
        load_drift_policy(Path("policies/drift.yaml"))
    assert str(caught.value) == (
        "policies/drift.yaml: models.churn.features.monthly_charges.psi.critical: must be > warn"
    )
    assert caught.value.key == "models.churn.features.monthly_charges.psi.critical"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("apiVersion: driftloop/v2\nkind: DriftPolicy\n", "apiVersion", "must be 'driftloop/v1'"),
        ("apiVersion: driftloop/v1\nkind: GatePolicy\n", "kind", "must be 'DriftPolicy'"),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {sustian: 6h}\n",
            "defaults.sustian",
            "unknown key",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {sustain: six hours}\n",
            "defaults.sustain",
            "not a duration",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {window: 2h}\n",
            "defaults.window",
            "must be one of the recorded windows (5m, 1h, 24h, 30d)",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {fairness: {window: 6h}}\n",
            "defaults.fairness.window",
            "must be one of the recorded windows (5m, 1h, 24h, 30d)",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {fairness: {max_increase: -1}}\n",
            "defaults.fairness.max_increase",
            "greater than 0",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\nmodels: {churn: {detection: {window: 30d}}}\n",
            "models.churn.detection.window",
            "longer than 24h are whole days and record PSI and Hellinger only",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\nrecorded_windows: [5m, 1h, 1530m]\n",
            "recorded_windows[2]",
            "whole days",
        ),
        (
            "apiVersion: driftloop/v1\nkind: DriftPolicy\ndefaults: {min_samples: 0}\n",
            "defaults.min_samples",
            "greater than or equal to 1",
        ),
        ("apiVersion: driftloop/v1\nkind: DriftPolicy\nmodels: [a\n", "", "not valid YAML"),
    ],
)
def test_broken_drift_policies(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path / "drift.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_drift_policy(path)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(str(path))


def test_model_errors(tmp_path: Path) -> None:
    text = (ROOT / "models/churn/model.yaml").read_text()
    path = write(
        tmp_path / "churn/model.yaml", text.replace("type: categorical}", "type: image}", 1)
    )
    with pytest.raises(ConfigError) as caught:
        load_model("churn", tmp_path)
    assert caught.value.key == "features[2].type"
    assert "'numeric', 'categorical' or 'text'" in caught.value.problem

    write(path, text.replace("target: churned", "target: contract"))
    with pytest.raises(ConfigError, match=r"target: 'contract' is also listed as a feature"):
        load_model("churn", tmp_path)

    write(tmp_path / "other/model.yaml", text)
    with pytest.raises(ConfigError, match=r"name: 'churn' does not match its folder"):
        load_model("other", tmp_path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_model("nope", tmp_path)


def test_gate_policy_override_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "gates.yaml",
        "apiVersion: driftloop/v1\nkind: GatePolicy\nmodels:\n  churn: {confidence: 1.5}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_gate_policy(path)
    assert caught.value.key == "models.churn.confidence"


def test_generated_schemas_are_current() -> None:
    """Regenerate the JSON Schemas; a diff means `make schema` was not run."""
    rendered = render_schemas()
    assert set(rendered) == set(SCHEMAS)
    for name, text in rendered.items():
        committed = (ROOT / "policies/schema" / name).read_text()
        assert committed == text, f"policies/schema/{name} is stale: run `make schema`"
