"""The GitHub workflows, executed: `act` runs retrain.yml and promote.yml on this machine
(`-P ubuntu-24.04=-self-hosted`), their real `run:` steps and scripts, with small local
stand-ins for the remote actions (tests/workflows/actions), the contract-validating GitHub
test server as GITHUB_API_URL (the App's key exchanged for a token there), and real MLflow on
SQLite. A broken step, env name, output or artifact path fails here, not on GitHub.

Not executed: `environment:` (act ignores environments; its branch policy is GitHub's and
doctor checks it) and the `paths:` filter of promote.yml (act is asked for the push event).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.approvals import key_folder
from tests.support.github_server import FakeGitHub, github_server

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.gitops.overlay import OVERLAY_FILE, pins

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STANDINS = ROOT / "tests/workflows/actions"
TOKEN = "ghs_actAppToken1"  # noqa: S105 - the test server's installation token


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def local_repositories() -> list[str]:
    """--local-repository for every remote action the workflows use, by its stand-in."""
    found = set()
    for workflow in (ROOT / ".github/workflows").glob("*.yml"):
        found |= set(re.findall(r"uses: ([\w.-]+/[\w.-]+@[0-9a-f]{40})", workflow.read_text()))
    args = []
    for use in sorted(found):
        name = use.split("@")[0].split("/")[1]
        if (STANDINS / name).is_dir():
            args += ["--local-repository", f"{use}={STANDINS / name}"]
    return args


class World:
    def __init__(self, tmp: Path, fake: FakeGitHub) -> None:
        self.tmp, self.fake = tmp, fake
        self.source = tmp / "repo"
        self.artifacts = tmp / "artifacts"
        self.mlflow = f"sqlite:///{tmp / 'mlflow.db'}"
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()  # fmt: skip
        fake.app_id, fake.installation_id = 4242, 77
        self.keys = key_folder(tmp / "approval-keys")  # DRIFTLOOP_SIGNING_KEY's public half
        fake.app_public_key = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def act(self, event: str, workflow: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            str(BIN / "act"), event, "-W", f".github/workflows/{workflow}",
            "-P", "ubuntu-24.04=-self-hosted", *args,
            "-s", f"MLFLOW_TRACKING_URI={self.mlflow}", "-s", "MLFLOW_TRACKING_TOKEN=",
            "-s", f"DRIFTLOOP_APP_PRIVATE_KEY={self.private_key}",
            "-s", f"DRIFTLOOP_SIGNING_KEY={(self.keys / 'signing.key').read_text()}",
            "--var", "DRIFTLOOP_APP_ID=4242",
            "--env", f"GITHUB_API_URL={self.fake.base}", "--env", "DRIFTLOOP_SETUP=skip",
            "--env", f"ACT_SOURCE={self.source}", "--env", f"ACT_ARTIFACTS={self.artifacts}",
            "--env", "ACT_INSTALLATION_ID=77",
            *local_repositories(),
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        return subprocess.run(command, cwd=self.source, env=env, capture_output=True, text=True,
                              check=False, timeout=1200)  # fmt: skip

    def dispatch_retrain(self, **inputs: str) -> subprocess.CompletedProcess[str]:
        args = [a for k, v in inputs.items() for a in ("--input", f"{k}={v}")]
        return self.act("workflow_dispatch", "retrain.yml", *args)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with github_server(FakeGitHub(token=TOKEN)) as fake:
        world = World(tmp_path, fake)
        source = checkout_copy(world.source)
        git(source, "remote", "add", "origin", "https://github.com/acme/models.git")
        for path in (OVERLAY_FILE, ".github/CODEOWNERS", "policies/gates.yaml"):
            fake.add_file(path, (ROOT / path).read_text())
        fake.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        fake.teams["driftloop/ml-platform"] = ["dave"]
        env = {**os.environ, "MLFLOW_TRACKING_URI": world.mlflow}
        subprocess.run(
            [str(BIN / "driftloop"), "retrain", "--model", "churn", "--data",
             "demo://churn/reference?rows=4000", "--out", str(tmp_path / "v1.json")],
            cwd=source, env=env, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        MlflowRegistry(world.mlflow).set_alias("churn", "champion", "1")
        yield world
        assert fake.contract_errors == []
        assert not any(world.private_key.splitlines()[1] in body for _, _, body in fake.requests)


def evidence() -> str:
    return json.dumps({"top_features": [{"feature": "monthly_charges", "psi": 0.31,
                                         "samples": 4000}], "window": "1h"})  # fmt: skip


def train_on(world: World, data: str) -> None:
    """What the retrain reads (model.yaml's data.train), in the repository under test."""
    model = world.source / "models/churn/model.yaml"
    model.write_text(model.read_text().replace("train: demo://churn/reference", f"train: {data}"))


def test_dispatched_retrain_ends_in_a_pull_request_then_promote_moves_the_champion(
    world: World,
) -> None:
    train_on(world, "demo://churn/persistent")  # the drifted traffic, labelled
    result = world.dispatch_retrain(
        model="churn", reason="drift", trigger_id="churn-20260105T1205Z", evidence=evidence()
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert [p["head"]["ref"] for p in world.fake.pulls.values()] == ["driftloop/churn-v2"]
    pull = next(iter(world.fake.pulls.values()))
    assert "monthly\\_charges" in pull["body"] or "`monthly_charges`" in pull["body"]
    for name in ("candidate.json", "gate-report.json", "drift-report.html", "evidence.json"):
        assert (world.artifacts / next(p.name for p in world.artifacts.iterdir()) / name).exists()
    registry = MlflowRegistry(world.mlflow)
    assert registry.alias_version("churn", "challenger") == "2"  # gates passed

    # a code owner approves the head, someone merges: promote.yml on the push
    world.fake.add_review(pull["number"], "dave")
    head = git(world.source, "rev-parse", "HEAD").strip()
    before = world.fake.heads["main"]
    world.fake.merge(pull["number"], by="carol", sha=head)
    event = world.tmp / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "before": before, "after": head,
                                 "repository": {"full_name": "acme/models"}}))  # fmt: skip
    result = world.act("push", "promote.yml", "-e", str(event))
    assert result.returncode == 0, result.stdout[-4000:]
    assert registry.alias_version("churn", "champion") == "2"
    tags = registry.version_tags("churn", "2")
    assert (tags["approved_by"], tags["commit"]) == ("dave", head)
    assert pins(world.fake.branches["main"][OVERLAY_FILE])["churn"] == "2"
    # what the production server checks: the approval promote.yml signed verifies
    verified = subprocess.run(
        [str(BIN / "driftloop"), "verify", "--model-uri", "models:/churn/2", "--approval-keys",
         str(world.keys), "--json"],
        env={**os.environ, "MLFLOW_TRACKING_URI": world.mlflow}, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["approved_by"] == "dave"
    assert "BEGIN PRIVATE KEY" not in result.stdout  # the key never reaches the log


def test_dispatched_retrain_on_degraded_labels_ends_in_an_issue(world: World) -> None:
    train_on(world, "demo://churn/degraded")  # a broken label join upstream
    result = world.dispatch_retrain(model="churn", reason="drift", trigger_id="churn-t2")
    assert result.returncode != 0  # propose exits 1: an issue, not a pull request
    assert "gate(s) failed" in result.stdout
    assert not world.fake.pulls
    (issue,) = world.fake.issues.values()
    assert {label["name"] for label in issue["labels"]} == {
        "driftloop",
        "gate-failed",
        "model:churn",
    }
    assert "per\\_class\\_f1\\_min" in issue["body"] or "`per_class_f1_min`" in issue["body"]
    assert MlflowRegistry(world.mlflow).alias_version("churn", "champion") == "1"


def checkout_copy(target: Path) -> Path:
    """The repository's tracked files in a fresh git repository, as a workflow checks out."""
    for path in git(ROOT, "ls-files").splitlines():
        if (ROOT / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, target / path)
    (target / ".venv").symlink_to(ROOT / ".venv")  # installed once, for every job
    git(target, "init", "-q", "-b", "main")
    git(target, "add", ".")
    git(target, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repository")
    return target


def release_audit(source: Path, artifacts: Path, osv_url: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(BIN / "act"), "push", "-W", ".github/workflows/release.yml", "-j", "audit",
        "-P", "ubuntu-24.04=-self-hosted", "--var", f"DRIFTLOOP_OSV_URL={osv_url}",
        "--env", "DRIFTLOOP_SETUP=skip", "--env", f"ACT_SOURCE={source}",
        "--env", f"ACT_ARTIFACTS={artifacts}", *local_repositories(),
    ]  # fmt: skip
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(command, cwd=source, env=env, capture_output=True, text=True,
                          check=False, timeout=1200)  # fmt: skip


def test_release_audits_the_locked_dependencies_and_stops_on_a_high_advisory(
    tmp_path: Path,
) -> None:
    from tests.support.osv_server import Osv, advisory, locked_version, osv_server

    source = checkout_copy(tmp_path / "repo")
    sha = git(source, "rev-parse", "HEAD").strip()
    database = Osv()
    with osv_server(database) as url:
        clean = release_audit(source, tmp_path / "clean", url)
        assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-2000:]
        record = json.loads((tmp_path / "clean" / f"dependency-audit-{sha}" / "audit.json")
                            .read_text())  # fmt: skip
        assert record["passed"] is True
        assert record["packages"] == len(database.queries) > 50

        database.records.append(
            advisory("GHSA-fixt-high-0001", "mlflow", locked_version("mlflow"), "HIGH")
        )
        stopped = release_audit(source, tmp_path / "stopped", url)
    assert database.errors == []
    assert stopped.returncode != 0
    assert "FAIL mlflow" in stopped.stdout
    # the result is kept even when the audit stops the release (if: always())
    failed = json.loads((tmp_path / "stopped" / f"dependency-audit-{sha}" / "audit.json")
                        .read_text())  # fmt: skip
    assert failed["failing"][0]["id"] == "GHSA-fixt-high-0001"
