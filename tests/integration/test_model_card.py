"""The model card stored with a version, against a real MLflow: its numbers are the run's."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import mlflow
import pytest
from tests.integration.test_retrain_gate import gate, retrain, workspace  # noqa: F401

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.loop.card import CARD_TAG, stored_card
from driftloop.loop.promote import withdraw

pytestmark = pytest.mark.integration
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src/driftloop/card/model-card.schema.json").read_text()
)


def card(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["card", "--model", "churn", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_card_of_v2_carries_its_runs_numbers(
    workspace: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    retrain("churn", "demo://churn/reference", "v1.json")
    registry = MlflowRegistry.from_environment()
    registry.set_alias("churn", "champion", "1")
    evidence = {"top_features": [{"feature": "monthly_charges", "psi": 0.61, "samples": 5000}]}
    Path("evidence.json").write_text(json.dumps(evidence))
    assert main(["retrain", "--model", "churn", "--data", "demo://churn/persistent",
                 "--reason", "drift: <b>monthly_charges</b>", "--trigger-id", "t-9",
                 "--evidence", "evidence.json", "--out", "v2.json"]) == 0  # fmt: skip
    candidate = json.loads(Path("v2.json").read_text())

    stored = stored_card(registry, "churn", "2")
    assert stored is not None
    assert stored["stage"] == "retrained"
    assert stored["quantitative_analyses"] is None  # not gated yet
    jsonschema.validate(stored, SCHEMA)

    code, report = gate("churn", "v2.json", "gate-v2.json")
    assert code == 0, report["failed"]
    code, out, _ = card(capsys, "--version", "2", "--format", "json")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["stage"] == "gated"

    # every number read back from MLflow itself, not from driftloop's own files
    run = mlflow.MlflowClient().get_run(candidate["run_id"])
    assert data["metrics"]["training"] == pytest.approx(run.data.metrics)
    assert data["model_details"]["run_id"] == run.info.run_id
    assert data["model_details"]["parameters"]["max_iter"] == run.data.params["param.max_iter"]
    tags = registry.version_tags("churn", "2")
    training = data["training_data"]
    assert training["digest"] == tags["driftloop.data_digest"] == candidate["data_digest"]
    assert training["rows"] == int(tags["driftloop.data_rows"])
    assert training["uri"] == "demo://churn/persistent"
    assert {row["feature"] for row in training["datasheet"]} == {
        "tenure_months", "monthly_charges", "contract", "payment_method", "support_calls",
        "senior_citizen",
    }  # fmt: skip
    contract = next(r for r in training["datasheet"] if r["feature"] == "contract")
    assert contract["top_categories"]
    assert 0 < contract["top_categories"][0]["share"] <= 1
    assert data["trigger"] == {"reason": "drift: <b>monthly_charges</b>", "trigger_id": "t-9",
                               "evidence": evidence}  # fmt: skip

    gate_report = json.loads(registry.read_artifact(tags["driftloop.gate_report"]) or "{}")
    gates = data["quantitative_analyses"]["gates"]
    assert [g["name"] for g in gates] == [g["name"] for g in gate_report["gates"]]
    assert [g["candidate"] for g in gates] == [g["candidate"] for g in gate_report["gates"]]
    assert data["quantitative_analyses"]["champion_version"] == "1"
    golden = data["metrics"]["evaluation"]["golden"]
    auc = golden["metrics"]["roc_auc"]
    assert auc["value"] == pytest.approx(
        gate_report["evaluation"]["candidate"]["golden"]["roc_auc"]
    )
    assert auc["ci"][0] < auc["value"] < auc["ci"][1]
    assert set(golden["per_group"]) == {"0", "1"}  # senior_citizen
    assert sum(g["rows"] for g in golden["per_group"].values()) == golden["rows"]
    assert set(golden["per_class_f1"]) == {"0", "1"}

    code, markdown, _ = card(capsys, "--version", "challenger")
    assert code == 0
    assert f"| roc\\_auc | {auc['value']:.4g} |" in markdown
    assert "<b>" not in markdown
    assert "&lt;b&gt;monthly\\_charges&lt;/b&gt;" in markdown
    code, html, _ = card(capsys, "--version", "2", "--format", "html")
    assert "default-src 'none'" in html
    assert "<b>monthly" not in html
    code, annex, _ = card(capsys, "--version", "2", "--format", "annex-iv")
    assert code == 0
    assert "## 9. Post-market monitoring plan (Article 72)" in annex
    assert "| FeatureDriftCritical |" in annex  # an alert of the generated rules
    assert annex.count("[TO FILL IN]") >= 4

    # a tag pointing at another version's card is not this version's card
    v1_card = registry.version_tags("churn", "1")[CARD_TAG]
    registry.set_version_tags("churn", "2", {CARD_TAG: v1_card})
    code, _, err = card(capsys, "--version", "2")
    assert code == 2
    assert "describes churn v1" in err
    registry.set_version_tags("churn", "2", {CARD_TAG: tags[CARD_TAG]})

    withdraw(registry, "churn", "2", "the canary showed a fault")
    after = stored_card(registry, "churn", "2")
    assert after is not None
    assert after["stage"] == "withdrawn"
    assert "canary showed a fault" in (after["withdrawn"] or "")


def test_versions_without_a_card_and_broken_cards_are_exit_two(
    workspace: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    retrain("churn", "demo://churn/reference", "v1.json")
    registry = MlflowRegistry.from_environment()
    code, _, err = card(capsys, "--version", "7")
    assert code == 2
    assert "version 7 is not registered" in err
    code, _, err = card(capsys, "--version", "champion")
    assert code == 2
    assert "no version with alias 'champion'" in err

    uri = registry.write_version_artifact("churn", "1", "driftloop/model-card.json", "{not json")
    registry.set_version_tags("churn", "1", {CARD_TAG: uri})
    code, _, err = card(capsys, "--version", "1")
    assert code == 2
    assert "is not JSON" in err
    assert "Traceback" not in err

    partial = json.dumps({"model_details": {"name": "churn", "version": "1"}})
    uri = registry.write_version_artifact("churn", "1", "driftloop/model-card.json", partial)
    registry.set_version_tags("churn", "1", {CARD_TAG: uri})
    code, _, err = card(capsys, "--version", "1", "--format", "html")
    assert code == 2
    assert "lacks format, structure" in err

    registry.set_version_tags("churn", "1", {CARD_TAG: ""})
    code, _, err = card(capsys, "--version", "1")
    assert code == 2
    assert "has no model card" in err


def test_a_broken_card_does_not_hold_back_a_reviewed_promotion(
    workspace: Path,  # noqa: F811
) -> None:
    """The card reports, it does not vouch: whoever can break it (any MLflow writer) must
    not be able to stop a reviewed merge from moving the champion."""
    from driftloop.adapters.repohost import PullRequest
    from driftloop.loop.promote import _approve

    retrain("churn", "demo://churn/reference?rows=3000", "v1.json")
    registry = MlflowRegistry.from_environment()
    uri = registry.write_version_artifact("churn", "1", "driftloop/model-card.json", "{broken")
    registry.set_version_tags("churn", "1", {CARD_TAG: uri})
    pull = PullRequest(7, "https://github.com/o/r/pull/7", "driftloop/churn-v1", "t",
                       merged=True, merged_by="carol", head_sha="a" * 40)  # fmt: skip
    promotion = _approve("churn", "1", pull, ("bob",), "c" * 40, registry, "g" * 64, None,
                         "o/r", "d" * 64)  # fmt: skip
    assert promotion.promoted
    assert registry.alias_version("churn", "champion") == "1"
    assert any("model card not updated" in r and "not JSON" in r for r in promotion.reasons)
