"""Adding a model is its folder, `make manifests` and one line per overlay (ADR 0006): a fourth
model, copied from churn's model.yaml, is served (its own Rollout and pin), checked (the drift
check reports on it from a real Prometheus) and proposed (a pull request on the local git host
whose diff is its pin alone), with nothing else written by hand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.support.processes import prometheus

from driftloop.cli.main import main
from driftloop.config import load_drift_policy
from driftloop.doctor import check_gitops
from driftloop.generate.manifests import main as make_manifests
from driftloop.generate.rules import build_groups, settings_from_policy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    for part in ("models", "policies", "k8s"):
        shutil.copytree(ROOT / part, root / part)
    (root / ".gitignore").write_text(".driftloop/\n*.json\n*.db\nprom/\n")
    # the new model: a copied model.yaml under its own name
    (root / "models/fraud").mkdir()
    text = (ROOT / "models/churn/model.yaml").read_text().replace("name: churn", "name: fraud")
    (root / "models/fraud/model.yaml").write_text(text)
    assert make_manifests([str(root)]) == 0  # make manifests
    for overlay, pin in (
        ("production", "models:/fraud@champion"),  # no fraud version before its first proposal
        ("staging", "models:/fraud@challenger"),
    ):
        path = root / f"k8s/overlays/{overlay}/kustomization.yaml"
        line = (
            f"  - {{name: model-version-fraud, behavior: replace, literals: [MODEL_URI={pin}]}}\n"
        )
        path.write_text(
            path.read_text().replace("configMapGenerator:\n", "configMapGenerator:\n" + line)
        )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "add fraud")
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "driftloop")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "driftloop@example.invalid")
    return root


def test_a_third_model_is_served_checked_and_proposed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = git(repo, "show", "--stat", "--format=", "HEAD").strip()
    assert "models/fraud/model.yaml" in written
    assert [c.detail for c in check_gitops(repo) if not c.ok] == []

    built = subprocess.run(["kubectl", "kustomize", str(repo / "k8s/overlays/production")],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(built) if d}
    rollout = docs[("Rollout", "model-server-fraud")]
    name = rollout["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]
    assert docs[("ConfigMap", name["configMapKeyRef"]["name"])]["data"]["MODEL_URI"] == (
        "models:/fraud@champion"
    )

    groups = build_groups(settings_from_policy(load_drift_policy(repo / "policies/drift.yaml")))
    with prometheus(repo / "prom", [], groups) as url:
        capsys.readouterr()
        assert main(["check", "--prometheus", url, "--dispatch", "none"]) == 0
        decisions = {d["model"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(decisions) == {"churn", "fraud", "taxi", "tickets"}
    assert decisions["fraud"]["decision"] == "insufficient_data"

    assert main(["retrain", "--model", "fraud", "--data", "demo://churn/reference?rows=3000",
                 "--out", "c.json"]) == 0  # fmt: skip
    candidate = json.loads(Path("c.json").read_text())
    Path("g.json").write_text(json.dumps({"model": "fraud", "candidate_version": candidate["version"],
                                          "champion_version": None, "passed": True, "failed": [], "gates": []}))  # fmt: skip
    capsys.readouterr()
    assert main(["propose", "--model", "fraud", "--candidate", "c.json", "--gate-report", "g.json",
                 "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["action"] == "created"
    diff = git(repo, "diff", "main", f"driftloop/fraud-v{candidate['version']}").splitlines()
    edits = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    line = (
        "  - {name: model-version-fraud, behavior: replace, literals: [MODEL_URI=models:/fraud%s]}"
    )
    assert edits == ["-" + line % "@champion", "+" + line % ("/" + candidate["version"])]
