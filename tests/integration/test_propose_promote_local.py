"""propose and promote on the local repo host: a real git repository and real MLflow."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from tests.support.openlineage import validate_event

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.gitops.overlay import OVERLAY_FILE, served_version
from driftloop.loop.card import stored_card

CARD_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src/driftloop/card/model-card.schema.json").read_text()
)
pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("models", "policies", "k8s"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    # the repository's own CODEOWNERS (a team owns production); .driftloop/teams.json stands
    # in for GitHub's teams on the local host
    (tmp_path / ".github").mkdir()
    shutil.copy(ROOT / ".github/CODEOWNERS", tmp_path / ".github/CODEOWNERS")
    (tmp_path / ".driftloop").mkdir()
    (tmp_path / ".driftloop/teams.json").write_text('{"driftloop/ml-platform": ["alice", "bob"]}')
    (tmp_path / ".gitignore").write_text(".driftloop/\n*.json\n*.db\nmlruns/\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "driftloop")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "driftloop@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "driftloop")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "driftloop@example.invalid")
    return tmp_path


def cycle(data: str, n: int) -> int:
    assert (
        main(
            [
                "retrain",
                "--model",
                "churn",
                "--data",
                data,
                "--trigger-id",
                f"churn-t{n}",
                "--out",
                f"c{n}.json",
            ]
        )
        == 0
    )
    code = main(["gate", "--model", "churn", "--candidate", f"c{n}.json", "--out", f"g{n}.json"])
    assert code in (0, 1)
    Path(f"e{n}.json").write_text(json.dumps({"top_features": [{"feature": "monthly_charges", "psi": 0.34, "samples": 1000}],
                                              "since": "2026-01-05T12:05:00+00:00", "critical_fraction": 0.82,
                                              "window": "1h", "sustain": "6h"}))  # fmt: skip
    return main(["propose", "--model", "churn", "--candidate", f"c{n}.json", "--gate-report", f"g{n}.json",
                 "--evidence", f"e{n}.json", "--json"])  # fmt: skip


def test_pull_request_review_merge_promote(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        main(
            ["retrain", "--model", "churn", "--data", "demo://churn/reference", "--out", "c1.json"]
        )
        == 0
    )
    registry = MlflowRegistry.from_environment()
    registry.set_alias("churn", "champion", "1")
    main_before = git(repo, "rev-parse", "main")
    capsys.readouterr()

    assert cycle("demo://churn/persistent", 2) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (result["kind"], result["action"]) == ("pull_request", "created")
    host = LocalRepoHost(repo)
    assert git(repo, "rev-parse", "main") == main_before  # nothing touched the default branch
    branch_overlay = git(repo, "show", f"driftloop/churn-v2:{OVERLAY_FILE}")
    assert served_version(branch_overlay, "churn") == "2"
    assert "# The version each model serves" in branch_overlay  # comments survive the edit
    assert "literals: [MODEL_URI=models:/taxi/1]}" in branch_overlay  # and the other pins
    assert (
        git(repo, "diff", "--stat", "main", "driftloop/churn-v2").count("|") == 1
    )  # one file changed
    body = host.pull_body(result["number"])
    for needle in ("## Deploy `churn` v2", "| `primary_metric:roc_auc` | `golden` |", "```mermaid", "monthly_charges",
                   "### Rollout plan", "### Model card", "### Reviewer checklist", "churn-t2"):  # fmt: skip
        assert needle in body
    message = git(repo, "log", "-1", "--format=%B", "driftloop/churn-v2")
    assert "churn: serve model version 2" in message
    assert "churn-t2" in message

    assert (
        main(
            [
                "propose",
                "--model",
                "churn",
                "--candidate",
                "c2.json",
                "--gate-report",
                "g2.json",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["action"] == "unchanged"
    assert len(host.pulls()) == 1

    # the local host protects main as GitHub would: no merge without a current approval
    assert main(["pulls", "merge", str(result["number"]), "--as", "alice"]) == 2
    assert "no approval of its head" in capsys.readouterr().err
    # an admin's bypass merges it, and promote refuses what nobody approved
    assert main(["pulls", "merge", str(result["number"]), "--as", "alice", "--force"]) == 0
    assert served_version((repo / OVERLAY_FILE).read_text(), "churn") == "2"
    capsys.readouterr()
    assert main(["promote", "--model", "churn", "--json"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["promoted"] is False
    assert refused["rules"] == ["approval"]
    assert registry.alias_version("churn", "champion") == "1"
    # approving afterwards does not make it reviewed
    host.approve(result["number"], "bob")
    assert main(["promote", "--model", "churn", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["rules"] == ["approval", "approved-before-merge"]
    assert "approved_by" not in registry.version_tags("churn", "2")

    # the next candidate, approved on its head by someone else, then merged: promoted
    assert cycle("demo://churn/persistent?seed=3", 3) == 0
    third = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (third["action"], third["number"]) == ("created", result["number"] + 1)
    assert main(["pulls", "approve", str(third["number"]), "--as", "bob"]) == 0
    assert main(["pulls", "merge", str(third["number"]), "--as", "alice"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(repo / "lineage.jsonl"))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    assert main(["promote", "--model", "churn", "--json"]) == 0
    promoted = json.loads(capsys.readouterr().out)
    start, done = (json.loads(line) for line in (repo / "lineage.jsonl").read_text().splitlines())
    for event in (start, done):
        validate_event(event)
    assert (done["job"]["name"], done["eventType"]) == ("driftloop.promote", "COMPLETE")
    assert [d["name"] for d in done["inputs"]] == ["models/churn/3"]
    assert done["outputs"][0]["name"] == "models/churn/@champion"
    assert done["outputs"][0]["facets"]["version"]["datasetVersion"] == "3"
    assert promoted["promoted"] is True
    assert registry.alias_version("churn", "champion") == "3"
    tags = registry.version_tags("churn", "3")
    assert tags["approved_by"] == "bob"
    assert tags["merged_by"] == "alice"
    assert tags["commit"] == git(repo, "rev-parse", "main").strip()
    assert tags["head_sha"] == git(repo, "rev-parse", "driftloop/churn-v3").strip()
    assert tags["promotion"] == "reviewed"
    assert tags["pr_url"].endswith(f"{third['number']}.md")
    # the card stored with v3 now names the approval; v2, refused, is only gated
    card = stored_card(registry, "churn", "3")
    assert card is not None
    jsonschema.validate(card, CARD_SCHEMA)
    assert card["stage"] == "champion"
    assert card["approval"]["approved_by"] == ["bob"]
    assert card["approval"]["pull_request_number"] == third["number"]
    assert card["approval"]["bundle_digest"] == tags["approval_digest"]
    assert card["approval"]["commit"] == tags["commit"]
    refused = stored_card(registry, "churn", "2")
    assert refused is not None
    assert refused["approval"] is None


def test_a_push_after_the_approval_makes_it_stale(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["retrain", "--model", "churn", "--data", "demo://churn/reference", "--out", "c1.json"]
        )
        == 0
    )
    MlflowRegistry.from_environment().set_alias("churn", "champion", "1")
    assert cycle("demo://churn/persistent", 2) == 0
    number = json.loads(capsys.readouterr().out.splitlines()[-1])["number"]
    assert main(["pulls", "approve", str(number), "--as", "bob"]) == 0
    assert cycle("demo://churn/persistent?seed=4", 3) == 0  # v3 replaces v2 on the same PR
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["action"] == "updated"
    assert main(["pulls", "merge", str(number), "--as", "alice"]) == 2  # bob approved v2 only
    assert main(["pulls", "merge", str(number), "--as", "alice", "--force"]) == 0
    capsys.readouterr()
    assert main(["promote", "--model", "churn", "--json"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert (refused["version"], refused["rules"]) == ("3", ["approval", "approved-head"])
    assert "approved_by" not in MlflowRegistry.from_environment().version_tags("churn", "3")


def test_failed_gates_open_an_issue_then_comment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["retrain", "--model", "churn", "--data", "demo://churn/reference", "--out", "c1.json"]
        )
        == 0
    )
    MlflowRegistry.from_environment().set_alias("churn", "champion", "1")
    capsys.readouterr()
    assert cycle("demo://churn/degraded", 2) == 1
    first = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (first["kind"], first["action"]) == ("issue", "created")
    assert cycle("demo://churn/degraded?seed=5", 3) == 1
    second = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (second["kind"], second["action"], second["number"]) == (
        "issue",
        "commented",
        first["number"],
    )
    body = Path(first["url"]).read_text()
    assert "failed its gates" in body
    assert "per_class_f1_min" in body
    assert "broken join" in body
    record = json.loads((repo / ".driftloop/issues" / f"{first['number']}.json").read_text())
    assert record["labels"] == ["driftloop", "gate-failed", "model:churn"]
    assert len(record["comments"]) == 1
    assert git(repo, "branch", "--list", "driftloop/*") == ""


def test_direct_push_to_main_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retrain", "--model", "churn", "--data", "demo://churn/reference?rows=3000",
                 "--out", "c1.json"]) == 0  # fmt: skip
    MlflowRegistry.from_environment().set_alias("churn", "champion", "1")
    overlay = repo / OVERLAY_FILE
    overlay.write_text(overlay.read_text().replace("models:/churn/1", "models:/churn/7"))
    git(repo, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", "serve v7")
    capsys.readouterr()
    assert main(["promote", "--model", "churn", "--json"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert (refused["version"], refused["rules"]) == ("7", ["merged-pull-request"])
    assert "direct push" in refused["reasons"][1]
    assert MlflowRegistry.from_environment().alias_version("churn", "champion") == "1"


def test_a_retrain_that_refused_its_data_opens_an_issue(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What retrain.yml does when retrain exits 2: no candidate, an issue naming the problem
    (a second failure comments on it), and nothing on any branch."""
    bad = repo / "broken.csv"
    bad.write_text("tenure_months,churned\n1,0\n")
    assert main(["retrain", "--model", "churn", "--data", str(bad), "--out", "c.json"]) == 2
    log = repo / "retrain.log"
    log.write_text(capsys.readouterr().err)
    assert not (repo / "c.json").exists()
    assert main(["propose", "--model", "churn", "--retrain-failed", str(log),
                 "--trigger-id", "churn-t9", "--reason", "drift", "--json"]) == 1  # fmt: skip
    first = json.loads(capsys.readouterr().out)
    assert (first["kind"], first["action"]) == ("issue", "created")
    body = Path(first["url"]).read_text()
    assert "missing column(s): monthly\\_charges" in body  # the problem, escaped
    assert "churn-t9" in body
    record = json.loads((repo / ".driftloop/issues" / f"{first['number']}.json").read_text())
    assert record["labels"] == ["driftloop", "retrain-failed", "model:churn"]
    assert main(["propose", "--model", "churn", "--retrain-failed", str(log), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["action"] == "commented"
    assert git(repo, "branch", "--list", "driftloop/*") == ""
