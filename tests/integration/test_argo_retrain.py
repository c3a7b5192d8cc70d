"""One fleet, two executors, end to end: the drift check (the CronJob's command) finds the same
persistent drift for churn (retrains on GitHub) and taxi (retrains on Argo); churn's retrain
is dispatched to GitHub, taxi's WorkflowTemplate submitted to the Argo Server; then taxi's
workflow runs here, step by step as Argo would run it in the image, against real MLflow (on
SQLite) and the GitHub test server, and ends with the pull request that bumps taxi's version.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.argo_server import FakeArgo, argo_server
from tests.support.argo_steps import LocalWorkflow
from tests.support.bundles import train_bundle
from tests.support.github_server import FakeGitHub, app_credentials, github_server
from tests.support.history import backfill, recorded_series
from tests.support.processes import prometheus

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.registry import CandidateRun
from driftloop.gitops.overlay import OVERLAY_FILE, served_version
from driftloop.synthetic import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
defaults:
  window: 1h
  min_samples: 500
  sustain: 6h
  sustain_fraction: 0.8
  cooldown: 24h
  max_triggers_per_week: 2
  thresholds:
    psi: {warn: 0.1, critical: 0.25}
models:
  taxi:  # its persistent shift is milder than churn's
    thresholds:
      psi: {warn: 0.05, critical: 0.1}
"""
AT = (scenarios.STREAM_START + timedelta(hours=20)).isoformat()


def build(repo: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(repo / "k8s/overlays/production")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def repository(path: Path) -> Path:
    """The GitHub repository's default branch, as a local git repository to check out."""
    for part in ("models", "policies", "scripts", "k8s"):
        shutil.copytree(ROOT / part, path / part)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid", "PATH": "/usr/bin:/bin"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "main"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env=env)
    return path


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict[str, Any]]:
    series = [s for model in ("churn", "taxi")
              for s in recorded_series(model, "persistent", model, reference=True)]  # fmt: skip
    backfill(series, tmp_path / "tsdb")
    with (
        prometheus(tmp_path / "prom", [], [], tsdb=tmp_path / "tsdb") as prom,
        github_server(FakeGitHub(token="ghs_app", owner="driftloop", repo="driftloop")) as github,  # noqa: S106
        argo_server(FakeArgo(token="projected-sa-token")) as argo,  # noqa: S106
    ):  # fmt: skip
        github.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        github.add_file(OVERLAY_FILE, (ROOT / OVERLAY_FILE).read_text())
        yield {"prometheus": prom, "github": github, "argo": argo}
        assert github.contract_errors == []
        assert argo.contract_errors == []


def test_check_submits_taxi_to_argo_and_its_steps_end_in_a_pull_request(
    tmp_path: Path, services: dict[str, Any]
) -> None:
    github, argo = services["github"], services["argo"]
    built = build(ROOT)
    for (kind, _), doc in built.items():
        if kind == "WorkflowTemplate":
            argo.add_template(doc)
    credentials = app_credentials(github)
    (tmp_path / "app").mkdir()
    for key, text in credentials.items():
        (tmp_path / "app" / key).write_text(text)
    (tmp_path / "token").write_text(argo.token + "\n")
    (tmp_path / "drift.yaml").write_text(POLICY)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
        "GITHUB_REPOSITORY": "driftloop/driftloop", "GITHUB_API_URL": github.base,
        "GITHUB_APP_CREDENTIALS_DIR": str(tmp_path / "app"),
        "DRIFTLOOP_ARGO_SERVER": argo.base, "DRIFTLOOP_ARGO_TOKEN_FILE": str(tmp_path / "token"),
    }  # fmt: skip
    check = subprocess.run(
        ["driftloop", "check", "--json", "--dispatch", "argo", "--prometheus",
         services["prometheus"], "--policy", str(tmp_path / "drift.yaml"),
         "--models", str(ROOT / "models"), "--model", "churn", "--model", "taxi", "--at", AT],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    decisions = {d["model"]: d for d in map(json.loads, check.stdout.splitlines())}
    assert decisions["churn"]["decision"] == decisions["taxi"]["decision"] == "trigger", decisions[
        "taxi"
    ]
    # churn to GitHub's workflow_dispatch, taxi to the Argo Server, each exactly once
    assert [d["inputs"]["model"] for d in github.dispatches] == ["churn"]
    assert len(argo.workflows) == 1
    workflow = argo.workflows[0]
    assert decisions["taxi"]["dispatched"].endswith(workflow["metadata"]["name"])
    params = {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}
    assert params["trigger-id"] == decisions["taxi"]["trigger_id"]
    assert json.loads(params["evidence"])["top_features"]

    # taxi's workflow, step by step in the image's layout; production serves v1
    mlflow = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = MlflowRegistry(mlflow, artifact_root=tmp_path / "artifacts")
    bundle = train_bundle("taxi", tmp_path / "bundle", rows=4000)
    champion = registry.register_candidate(CandidateRun("taxi", bundle, {}, {}, {}), "champion")
    assert champion.version == "1"
    local = LocalWorkflow(
        tmp_path / "pods", built, workflow,
        secrets={"driftloop-github-app": credentials},
        overrides={"MLFLOW_TRACKING_URI": mlflow, "GITHUB_API_URL": github.base},
        repository=repository(tmp_path / "origin"),
    )  # fmt: skip
    ran = local.run()
    assert [name for name, _ in ran] == ["checkout", "train", "gate", "propose"], [
        (name, r.returncode, r.stderr[-2000:]) for name, r in ran
    ]
    for name, result in ran:
        assert result.returncode == 0, (name, result.stderr[-3000:])
    out = tmp_path / "pods/claims/work/out"
    candidate = json.loads((out / "candidate.json").read_text())
    assert candidate["model"] == "taxi"
    assert candidate["trigger_id"] == decisions["taxi"]["trigger_id"]
    assert json.loads((out / "gate-report.json").read_text())["passed"] is True
    # the proposal: a pull request on GitHub bumping taxi's version, nothing else on main
    assert github.pulls, ran[-1][1].stdout[-3000:] + ran[-1][1].stderr[-3000:]
    (pull,) = github.pulls.values()
    branch = pull["head"]["ref"]
    assert branch == f"driftloop/taxi-v{candidate['version']}"
    assert served_version(github.branches[branch][OVERLAY_FILE], "taxi") == candidate["version"]
    assert github.branches["main"][OVERLAY_FILE] == (ROOT / OVERLAY_FILE).read_text()
    # the GitHub App's key was in the propose step's pod only
    assert (tmp_path / "pods/propose/var/run/secrets/driftloop-github-app/private-key").exists()
    assert not (tmp_path / "pods/train/var/run/secrets").exists()
