"""Submitting a fleet's retrains to Argo Workflows: one `driftloop check --dispatch argo` over
200 models that all retrain on the cluster, against a real Prometheus in which some of them
drift for good, and the local Argo Server and GitHub (both validating every request). The
fleet's history is a fixed number of requests; each triggered model adds its own two (the
lookup by trigger id and the submission). docs/benchmarks.md records the counts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.argo_server import FakeArgo, argo_server
from tests.support.github_server import FakeGitHub, app_credentials, github_server
from tests.support.history import backfill, recorded_series
from tests.support.processes import prometheus

from driftloop.synthetic import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MODELS = 200
SHIFTED = 3  # m000..m002 drift for good; the rest have no telemetry (insufficient data)
POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
defaults: {window: 1h, min_samples: 500, sustain: 6h, sustain_fraction: 0.8, cooldown: 24h,
           thresholds: {psi: {warn: 0.1, critical: 0.25}}}
"""


def test_one_check_over_200_argo_models_sends_a_fixed_number_of_requests(
    tmp_path: Path,
) -> None:
    series = [s for m in range(SHIFTED)
              for s in recorded_series("churn", "persistent", f"m{m:03d}", reference=True)]  # fmt: skip
    backfill(series, tmp_path / "tsdb")
    (tmp_path / "drift.yaml").write_text(POLICY)
    churn = (ROOT / "models/churn/model.yaml").read_text() + "retrain: {executor: argo}\n"
    for m in range(MODELS):
        (tmp_path / "models" / f"m{m:03d}").mkdir(parents=True)
        (tmp_path / "models" / f"m{m:03d}" / "model.yaml").write_text(
            churn.replace("name: churn", f"name: m{m:03d}")
        )
    params = [{"name": n} for n in ("model", "reason", "trigger-id", "evidence")]
    at = (scenarios.STREAM_START + timedelta(hours=20)).isoformat()
    with (
        prometheus(tmp_path / "prom", [], [], tsdb=tmp_path / "tsdb") as url,
        github_server(FakeGitHub()) as github,
        argo_server(FakeArgo()) as argo,
    ):
        github.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        for m in range(MODELS):
            argo.add_template({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                               "metadata": {"name": f"retrain-m{m:03d}"},
                               "spec": {"arguments": {"parameters": params}}})  # fmt: skip
        (tmp_path / "app").mkdir()
        for key, text in app_credentials(github).items():
            (tmp_path / "app" / key).write_text(text)
        (tmp_path / "token").write_text(argo.token)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
               "GITHUB_REPOSITORY": f"{github.owner}/{github.repo}", "GITHUB_API_URL": github.base,
               "GITHUB_APP_CREDENTIALS_DIR": str(tmp_path / "app"),
               "DRIFTLOOP_ARGO_SERVER": argo.base,
               "DRIFTLOOP_ARGO_TOKEN_FILE": str(tmp_path / "token")}  # fmt: skip
        command = ["driftloop", "check", "--prometheus", url, "--policy",
                   str(tmp_path / "drift.yaml"), "--models", str(tmp_path / "models"),
                   "--dispatch", "argo", "--json", "--at", at]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                check=False, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        decisions = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(decisions) == MODELS
        triggered = sorted(d["model"] for d in decisions if d["decision"] == "trigger")
        assert triggered == [f"m{m:03d}" for m in range(SHIFTED)]
        kinds = [
            "submit" if u.endswith("/submit") else "lookup" if "trigger-id" in u else "history"
            for _, u in argo.requests
        ]
        assert kinds.count("history") == 1  # the whole fleet's, in one list
        assert kinds.count("lookup") == kinds.count("submit") == SHIFTED
        assert len(argo.workflows) == SHIFTED
        github_requests = len(github.requests)
        assert github.dispatches == []  # nothing on argo goes to GitHub
        # a retried run (decided as of the same past time, so the workflows created since are
        # not yet history to it): each trigger is found by its label, none submitted twice
        before = len(argo.requests)
        again = subprocess.run(command, capture_output=True, text=True, env=env,
                               check=False, timeout=300)  # fmt: skip
        assert again.returncode == 0, again.stderr[-2000:]
        retried = [u for _, u in argo.requests[before:]]
        assert len(retried) == 1 + SHIFTED
        assert not any(u.endswith("/submit") for u in retried)
        assert len(argo.workflows) == SHIFTED
        assert len(github.requests) == 2 * github_requests
        assert argo.contract_errors == []
        assert github.contract_errors == []
