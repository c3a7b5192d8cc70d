"""`driftloop doctor` against a local stack and against the GitHub test server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.github_server import FakeGitHub, github_server
from tests.support.processes import prometheus

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.config import load_drift_policy
from driftloop.doctor import Check, check_approval_keys, check_github
from driftloop.generate.rules import build_groups, settings_from_policy

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
    for model in ("churn", "taxi", "tickets"):
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
        registry.set_alias("tickets", "champion", "1")
        assert main(["doctor", "--prometheus", url]) == 0
        out = capsys.readouterr().out
        assert "FAIL" not in out
        assert "ok    code owners" in out
    assert main(["doctor", "--prometheus", url]) == 1  # Prometheus is gone now
    assert "unreachable" in capsys.readouterr().out


OLD_CODEOWNERS = (
    "/k8s/overlays/production/  @acme/ml\n/policies/  @acme/ml\n/.github/workflows/  @acme/ml\n"
)
SECRETS = ["MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "DRIFTLOOP_APP_PRIVATE_KEY",
           "DRIFTLOOP_SIGNING_KEY"]  # fmt: skip


def doctor(
    monkeypatch: pytest.MonkeyPatch, setup: Callable[[FakeGitHub], None]
) -> dict[str, Check]:
    with github_server(FakeGitHub(token="doctor-token")) as fake:  # noqa: S106 - a test token
        fake.add_file(
            ".github/workflows/retrain.yml", (ROOT / ".github/workflows/retrain.yml").read_text()
        )
        setup(fake)
        monkeypatch.setenv("GITHUB_TOKEN", "doctor-token")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
        monkeypatch.setenv("GITHUB_API_URL", fake.base)
        checks = {c.name: c for c in check_github("driftloop")}
        assert fake.contract_errors == []
    return checks


def test_github_fully_protected_repository_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    def setup(fake: FakeGitHub) -> None:
        fake.add_file(".github/CODEOWNERS", (ROOT / ".github/CODEOWNERS").read_text())
        fake.add_ruleset()
        fake.add_environment("driftloop", branches=["main"], secrets=SECRETS)

    checks = doctor(monkeypatch, setup)
    failed = {name: c.detail for name, c in checks.items() if not c.ok}
    assert failed == {}
    assert "ruleset main" in checks["branch protection: code owner review"].detail


def test_github_unprotected_repository_names_every_missing_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def setup(fake: FakeGitHub) -> None:
        fake.add_file(".github/CODEOWNERS", OLD_CODEOWNERS)
        fake.repo_secrets = ["MLFLOW_TRACKING_URI"]

    checks = doctor(monkeypatch, setup)
    for name in ("required reviews", "code owner review", "dismiss stale approvals",
                 "approval of the most recent push", "no bypass"):  # fmt: skip
        assert not checks[f"branch protection: {name}"].ok
        assert "docs/branch-protection.md" in checks[f"branch protection: {name}"].fix
    owners = checks["code owners"]
    assert not owners.ok
    for unowned in ("k8s/base/rollout.yaml", "src/driftloop/loop/promote.py", ".github/CODEOWNERS",
                    "models/churn/train.py", "k8s/argocd/project.yaml"):  # fmt: skip
        assert unowned in owners.detail
    assert "k8s/overlays/production/kustomization.yaml" not in owners.detail
    assert not checks["environment driftloop"].ok


def test_github_bypasses_and_loose_environments_fail_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def classic(fake: FakeGitHub) -> None:
        fake.add_file(".github/CODEOWNERS", (ROOT / ".github/CODEOWNERS").read_text())
        fake.protect(last_push=False, enforce_admins=False)
        fake.add_environment("driftloop", protected_branches=True, secrets=SECRETS)
        fake.repo_secrets = ["DRIFTLOOP_APP_PRIVATE_KEY"]

    checks = doctor(monkeypatch, classic)
    assert checks["branch protection: required reviews"].ok
    assert not checks["branch protection: approval of the most recent push"].ok
    assert "does not include administrators" in checks["branch protection: no bypass"].detail
    assert "any protected branch may deploy" in checks["environment driftloop"].detail
    assert "DRIFTLOOP_APP_PRIVATE_KEY at repository level" in checks["secrets"].detail

    def bypass(fake: FakeGitHub) -> None:
        fake.add_ruleset(
            bypass=[{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]
        )
        fake.add_environment("driftloop", branches=["main", "release/*"], secrets=SECRETS[:1])

    checks = doctor(monkeypatch, bypass)
    assert checks["branch protection: dismiss stale approvals"].ok
    assert "lets RepositoryRole 5 bypass it" in checks["branch protection: no bypass"].detail
    assert "release/*" in checks["environment driftloop"].detail
    assert "DRIFTLOOP_APP_PRIVATE_KEY, DRIFTLOOP_SIGNING_KEY missing" in checks["secrets"].detail


def test_the_signing_key_belongs_in_the_environment_and_the_public_keys_in_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def leaked(fake: FakeGitHub) -> None:
        fake.add_file(".github/CODEOWNERS", (ROOT / ".github/CODEOWNERS").read_text())
        fake.add_ruleset()
        fake.add_environment("driftloop", branches=["main"], secrets=SECRETS[:3])
        fake.repo_secrets = ["DRIFTLOOP_SIGNING_KEY"]  # any branch's workflow could sign

    checks = doctor(monkeypatch, leaked)
    assert not checks["secrets"].ok
    assert "DRIFTLOOP_SIGNING_KEY at repository level" in checks["secrets"].detail
    assert checks["code owners"].ok  # policies/approval-keys/ is owned

    assert check_approval_keys(ROOT).ok  # the repository ships its public key
    (tmp_path / "policies/approval-keys").mkdir(parents=True)
    missing = check_approval_keys(tmp_path)
    assert not missing.ok
    assert "driftloop keygen" in missing.fix
