"""retrain and gate end to end against a real MLflow (SQLite, and once `mlflow server`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.processes import free_port, stop, wait_for

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout-like folder with models/ and policies/, and MLflow on SQLite inside it."""
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def retrain(model: str, data: str, out: str) -> dict:  # type: ignore[type-arg]
    assert (
        main(
            [
                "retrain",
                "--model",
                model,
                "--data",
                data,
                "--reason",
                "test",
                "--trigger-id",
                "t-1",
                "--out",
                out,
            ]
        )
        == 0
    )
    return json.loads(Path(out).read_text())  # type: ignore[no-any-return]


def gate(model: str, candidate: str, out: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(
        [
            "gate",
            "--model",
            model,
            "--candidate",
            candidate,
            "--out",
            out,
            "--markdown",
            out + ".md",
        ]
    )
    return code, json.loads(Path(out).read_text())


def test_persistent_retrain_passes_and_degraded_fails(workspace: Path) -> None:
    first = retrain("churn", "demo://churn/reference", "v1.json")
    assert set(first) >= {"model", "version", "run_id", "model_uri", "metrics", "data_digest"}
    assert first["version"] == "1"
    assert first["data_digest"].startswith("sha256:")
    registry = MlflowRegistry.from_environment()
    assert registry.alias_version("churn", "candidate") == "1"
    assert registry.alias_version("churn", "challenger") is None  # not gated yet
    tags = registry.version_tags("churn", "1")
    assert tags["driftloop.reason"] == "test"
    assert tags["driftloop.trigger_id"] == "t-1"
    registry.set_alias("churn", "champion", "1")  # `driftloop promote` does this after review

    second = retrain("churn", "demo://churn/persistent", "v2.json")
    code, report = gate("churn", "v2.json", "gate-v2.json")
    assert code == 0, report["failed"]
    assert report["passed"] is True
    assert report["champion_version"] == "1"
    assert report["candidate_version"] == second["version"] == "2"
    assert report["mode"] == "comparison"
    assert registry.alias_version("churn", "challenger") == "2"  # staging may try it now
    names = {(g["name"], g.get("dataset")) for g in report["gates"]}
    assert ("primary_metric:roc_auc", "golden") in names
    assert ("latency_p95_seconds", None) in names
    assert ("demographic_parity_difference", "recent") in names
    for item in report["gates"]:
        assert set(item) >= {"name", "champion", "candidate", "delta", "threshold", "passed"}
    primary = next(
        g
        for g in report["gates"]
        if g["name"] == "primary_metric:roc_auc" and g["dataset"] == "golden"
    )
    assert primary["candidate"] > primary["champion"] + 0.1
    low, high = primary["ci"]
    assert 0 < low <= primary["delta"] <= high
    assert "| primary_metric:roc_auc | golden |" in Path("gate-v2.json.md").read_text()

    retrain("churn", "demo://churn/degraded", "v3.json")
    code, report = gate("churn", "v3.json", "gate-v3.json")
    assert code == 1
    assert report["passed"] is False
    assert "per_class_f1_min" in report["failed"]
    assert registry.alias_version("churn", "challenger") == "2"  # staging keeps what passed
    failed = {(g["name"], g.get("dataset")) for g in report["gates"] if not g["passed"]}
    assert ("primary_metric:roc_auc", "golden") in failed  # worse on clean labels by > 5%


def test_first_model_without_champion_uses_absolute_floors(workspace: Path) -> None:
    retrain("taxi", "demo://taxi/reference", "taxi.json")
    code, report = gate("taxi", "taxi.json", "gate-taxi.json")
    assert report["champion_version"] is None
    assert report["mode"] == "absolute_floors"
    primary = next(
        g for g in report["gates"] if g["name"] == "primary_metric:r2" and g["dataset"] == "recent"
    )
    assert primary["threshold"] == 0.3
    assert primary["champion"] is None
    assert code == (0 if report["passed"] else 1)
    assert report["passed"] is True


def test_schema_broken_data_is_exit_two_naming_the_column(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftloop.synthetic import scenarios

    scenarios.reference("churn", rows=1000).drop(columns=["contract"]).to_csv(
        "broken.csv", index=False
    )
    Path("corrupt.parquet").write_bytes(b"\x00garbage")
    assert main(["retrain", "--model", "churn", "--data", "broken.csv", "--out", "c.json"]) == 2
    assert "missing column(s): contract" in capsys.readouterr().err
    assert (
        main(["retrain", "--model", "churn", "--data", "corrupt.parquet", "--out", "c.json"]) == 2
    )
    assert "corrupt.parquet: cannot read as parquet" in capsys.readouterr().err
    frame = scenarios.reference("churn", rows=1000)
    frame["monthly_charges"] = frame["monthly_charges"].astype(object)
    frame.loc[:10, "monthly_charges"] = "high"
    frame.to_csv("typo.csv", index=False)
    assert main(["retrain", "--model", "churn", "--data", "typo.csv", "--out", "c.json"]) == 2
    assert "column 'monthly_charges': numeric expected, found 'high'" in capsys.readouterr().err
    assert not Path("c.json").exists()


def test_mlflow_unreachable_is_exit_three_within_seconds(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "retrain", "--model", "churn",
         "--data", "demo://churn/reference?rows=2000", "--out", "c.json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert "MLflow" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert elapsed < 30


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "mlflow-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process, timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        log.close()


def test_retrain_gate_and_serve_through_mlflow_server(
    workspace: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    retrain("churn", "demo://churn/reference?rows=4000", "v1.json")
    MlflowRegistry(mlflow_server).set_alias("churn", "champion", "1")
    retrain("churn", "demo://churn/persistent?hours=24", "v2.json")
    code, report = gate("churn", "v2.json", "gate.json")
    assert report["champion_version"] == "1"
    assert code == 0, report["failed"]

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "driftloop.cli.main", "serve", "--model-uri", "models:/churn@champion",
         "--port", str(port), "--drain-seconds", "0"],
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", process, timeout=60)
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["version"] == "1"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert (
            'driftloop_feature_bin_total{bin="missing",feature="contract",model="churn",version="1"}'
            in metrics
        )
    finally:
        stop(process)


HOSTILE_HOOK = '''"""A train hook that runs a shell command built from the spec."""
import subprocess

from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def build_pipeline(spec):
    subprocess.run("echo " + spec.name, shell=True, check=False)
    numeric = [f.name for f in spec.features if f.type == "numeric"]
    categorical = [f.name for f in spec.features if f.type == "categorical"]
    return make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), categorical)
        ),
        LogisticRegression(max_iter=500),
    )
'''


def test_a_hook_with_a_new_high_finding_fails_the_bandit_gate(workspace: Path) -> None:
    """#21.4: the champion's scan is stored with it by its own gate; a candidate whose
    train.py adds a HIGH-severity Bandit finding fails bandit-high, and the finding is in
    the report that the failed-gate issue is written from."""
    registry = MlflowRegistry.from_environment()
    retrain("churn", "demo://churn/reference", "v1.json")
    code, report = gate("churn", "v1.json", "gate-v1.json")
    assert code == 0, report["failed"]
    assert report["evaluation"]["security"]["findings"] == []
    assert "driftloop.bandit" in registry.version_tags("churn", "1")
    registry.set_alias("churn", "champion", "1")

    spec = workspace / "models/churn/model.yaml"
    text = spec.read_text()
    start, end = text.index("estimator:"), text.index("profile:")
    spec.write_text(text[:start] + "train_hook: train.py\n" + text[end:])
    (workspace / "models/churn/train.py").write_text(HOSTILE_HOOK)
    retrain("churn", "demo://churn/persistent", "v2.json")
    code, report = gate("churn", "v2.json", "gate-v2.json")
    assert code == 1
    assert "bandit-high" in report["failed"]
    security = next(g for g in report["gates"] if g["name"] == "bandit-high")
    assert (security["champion"], security["candidate"], security["delta"]) == (0, 1, 1)
    assert "B602 HIGH train.py:11" in security["detail"]
    (finding,) = [f for f in report["evaluation"]["security"]["findings"] if f["test_id"] == "B602"]
    assert finding["code"] == 'subprocess.run("echo " + spec.name, shell=True, check=False)'
    assert registry.alias_version("churn", "challenger") == "1"  # v2 is not staged
    assert "bandit-high" in Path("gate-v2.json.md").read_text()
