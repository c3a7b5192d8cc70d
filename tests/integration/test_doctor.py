"""`driftloop doctor` against a local stack and against the GitHub test server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.github_server import FakeGitHub, github_server
from tests.support.processes import prometheus

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.config import load_drift_policy
from driftloop.doctor import check_github
from driftloop.rules import build_groups, settings_from_policy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for part in ("models", "policies", "k8s", ".github"):
        shutil.copytree(ROOT / part, tmp_path / part)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def test_local_stack_all_ok_then_a_missing_champion_fails(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in ("churn", "taxi"):
        assert (
            main(
                [
                    "retrain",
                    "--model",
                    model,
                    "--data",
                    f"demo://{model}/reference?rows=2000",
                    "--out",
                    f"{model}.json",
                ]
            )
            == 0
        )
    registry = MlflowRegistry.from_environment()
    registry.set_alias("churn", "champion", "1")
    groups = build_groups(settings_from_policy(load_drift_policy(repo / "policies/drift.yaml")))
    (repo / "prom").mkdir()
    with prometheus(repo / "prom", [], groups) as url:
        capsys.readouterr()
        assert main(["doctor", "--prometheus", url]) == 1
        out = capsys.readouterr().out
        assert "FAIL  MLflow taxi: no version with alias champion" in out
        assert f"ok    Prometheus: {url} records driftloop:feature_psi:1h" in out
        registry.set_alias("taxi", "champion", "1")
        assert main(["doctor", "--prometheus", url]) == 0
        out = capsys.readouterr().out
        assert "FAIL" not in out
        assert "ok    code owners" in out
    assert main(["doctor", "--prometheus", url]) == 1  # Prometheus is gone now
    assert "unreachable" in capsys.readouterr().out


@pytest.mark.parametrize("protected", [True, False])
def test_github_branch_protection_and_workflow(
    protected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with github_server(FakeGitHub(token="doctor-token")) as fake:  # noqa: S106 - a test token
        fake.add_file(
            ".github/workflows/retrain.yml", (ROOT / ".github/workflows/retrain.yml").read_text()
        )
        fake.add_file(".github/CODEOWNERS", (ROOT / ".github/CODEOWNERS").read_text())
        if protected:
            fake.protect(reviews=1, code_owners=True)
        monkeypatch.setenv("GITHUB_TOKEN", "doctor-token")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
        monkeypatch.setenv("GITHUB_API_URL", fake.base)
        checks = {c.name: c for c in check_github()}
        assert fake.contract_errors == []
    assert checks["GitHub access"].ok
    assert checks["retrain workflow"].ok
    assert checks["branch protection"].ok is protected
    assert checks["code owners"].ok is protected
    if not protected:
        assert "docs/branch-protection.md" in checks["branch protection"].fix
