"""OpenLineage events from retrain and gate, captured by the client's file transport and by
a local HTTP receiver, each validated against the OpenLineage JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_retrain_gate import gate, workspace  # noqa: F401
from tests.support.canned_http import canned
from tests.support.openlineage import validate_event

from driftloop.cli.main import main

pytestmark = pytest.mark.integration
DATA = "demo://churn/reference?rows=3000"
FEATURES = ["tenure_months", "monthly_charges", "contract", "payment_method", "support_calls",
            "senior_citizen"]  # fmt: skip


def retrain(data: str, out: str, *extra: str) -> int:
    return main(["retrain", "--model", "churn", "--data", data, "--out", out, *extra])


@pytest.fixture
def events_file(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    path = workspace / "lineage.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_WORKFLOW", "retrain")
    return path


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_retrain_and_gate_emit_valid_linked_events(events_file: Path) -> None:
    assert retrain(DATA, "v1.json") == 0
    assert main(["gate", "--model", "churn", "--candidate", "v1.json", "--out", "g1.json"]) in (
        0,
        1,
    )
    from driftloop.adapters.mlflow import MlflowRegistry

    MlflowRegistry.from_environment().set_alias("churn", "champion", "1")
    Path("evidence.json").write_text(json.dumps(
        {"signal": "feature_drift", "top_features": [{"feature": "contract", "psi": 0.4,
                                                      "samples": 900}]}))  # fmt: skip
    assert retrain("demo://churn/persistent?rows=3000", "v2.json", "--reason", "drift: contract",
                   "--trigger-id", "churn-7", "--evidence", "evidence.json") == 0  # fmt: skip
    candidate = json.loads(Path("v2.json").read_text())
    code, report = gate("churn", "v2.json", "g2.json")

    events = read_events(events_file)
    for event in events:
        validate_event(event)
    kinds = [(e["job"]["name"], e["eventType"]) for e in events]
    assert kinds == [
        ("driftloop.retrain.churn", "START"), ("driftloop.retrain.churn", "COMPLETE"),
        ("driftloop.gate.churn", "START"), ("driftloop.gate.churn", "COMPLETE"),
    ] * 2  # fmt: skip
    assert len({e["run"]["runId"] for e in events}) == 4  # one run id per job run, START to end
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in events}
    assert len(parents) == 1  # every job of the workflow run under the same parent

    done = events[5]  # the second retrain's COMPLETE
    training, champion = done["inputs"]
    assert (training["namespace"], training["name"]) == ("demo://churn", "/persistent")
    assert training["facets"]["version"]["datasetVersion"] == candidate["data_digest"]
    assert [f["name"] for f in training["facets"]["schema"]["fields"]] == FEATURES
    assert champion["name"] == "models/churn/1"
    (model,) = done["outputs"]
    assert model["name"] == f"models/churn/{candidate['version']}"
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    trigger = done["run"]["facets"]["driftloop_trigger"]
    assert (trigger["triggerId"], trigger["signal"]) == ("churn-7", "feature_drift")
    assert trigger["evidence"]["top_features"][0]["feature"] == "contract"

    judged = events[7]
    assert [d["name"] for d in judged["inputs"][:2]] == ["models/churn/2", "models/churn/1"]
    assert judged["outputs"][0]["name"].endswith("driftloop/gate-report.json")
    assert code == (0 if report["passed"] else 1)


def test_a_failed_retrain_emits_fail_with_the_error(events_file: Path) -> None:
    Path("broken.csv").write_text("tenure_months,churned\n1,0\n")
    assert retrain("broken.csv", "c.json") == 2
    start, fail = read_events(events_file)
    for event in (start, fail):
        validate_event(event)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert "monthly_charges" in fail["run"]["facets"]["errorMessage"]["message"]
    assert fail["inputs"][0]["name"].endswith("broken.csv")


def test_lineage_is_off_when_no_transport_is_configured(
    workspace: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE__TRANSPORT__TYPE"):
        monkeypatch.delenv(name, raising=False)
    assert retrain(DATA, "v1.json") == 0
    out, err = capsys.readouterr()
    assert "eventType" not in out + err  # the client's console fallback would print events
    assert not list(workspace.glob("*.jsonl"))


def test_http_transport_posts_to_the_lineage_api_with_the_api_key(
    workspace: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[tuple[str, dict[str, str], bytes]] = []
    with canned("", status=201, record=received) as url:
        monkeypatch.setenv("OPENLINEAGE_URL", url)
        monkeypatch.setenv("OPENLINEAGE_API_KEY", "s3cret-key")
        assert retrain(DATA, "v1.json") == 0
    events = [json.loads(body) for _, _, body in received]
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    for (path, headers, _), event in zip(received, events, strict=True):
        assert path == "/api/v1/lineage"  # Marquez's endpoint, the client's default
        assert headers["Authorization"] == "Bearer s3cret-key"
        validate_event(event)


def test_an_unreachable_lineage_server_warns_and_the_retrain_still_lands(
    workspace: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support.processes import free_port

    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "s3cret-key")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT__RETRY__TOTAL", "0")
    assert retrain(DATA, "v1.json") == 0
    _, err = capsys.readouterr()
    assert "OpenLineage" in err
    assert "s3cret-key" not in err
    assert json.loads(Path("v1.json").read_text())["version"] == "1"
