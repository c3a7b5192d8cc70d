"""The human gate on GitHub: `driftloop promote --host github` against the contract-validating
GitHub server and real MLflow on SQLite. Each bypass that someone with write access could
try is refused with exit 1, the rule named, and MLflow untouched; the legitimate path
promotes with the approval in the version's tags."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from github import Auth
from tests.support.github_server import BOT, FakeGitHub, github_server
from tests.support.processes import free_port, running

from driftloop.adapters.github import GitHubHost
from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.attestation import bundle_digest
from driftloop.cli.main import main
from driftloop.config import load_model
from driftloop.gitops.overlay import OVERLAY_FILE, pinned_digest, pins, set_version
from driftloop.loop.audit import MARKER
from driftloop.loop.gate import GATE_TAGS, record_gate_report
from driftloop.loop.propose import propose

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghs_promoteTOKEN456"  # noqa: S105 - a test token
SPEC = load_model("churn", ROOT / "models")
CODEOWNERS = "*  @acme/ml-platform\n/k8s/overlays/production/  @acme/ml-platform  @olivia\n"


def register_versions(registry: MlflowRegistry, model: str, count: int, tmp_path: Path) -> None:
    """``count`` versions of ``model``, each from a run holding a small bundle, as retrain
    registers them (an approval names the bundle's digest; the run holds the attestation)."""
    registry.client.create_registered_model(model)
    experiment = registry.client.create_experiment(
        f"e-{model}", artifact_location=(tmp_path / f"artifacts-{model}").as_uri()
    )
    for number in range(1, count + 1):
        bundle = tmp_path / f"bundle-{model}-{number}"
        bundle.mkdir()
        (bundle / "MLmodel").write_text(f"flavors: {{}}\nversion: {number}\n")
        run = registry.client.create_run(experiment)
        registry.client.log_artifacts(run.info.run_id, str(bundle), "model")
        registry.client.create_model_version(
            model, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
        )


def digest_of(registry: MlflowRegistry, model: str, version: str) -> str:
    """What the gate records of the bundle it scored (propose pins it beside the version)."""
    return f"sha256:{bundle_digest(registry.download(f'models:/{model}/{version}')[0])}"


def gate_passed(registry: MlflowRegistry, model: str, version: str, passed: bool = True) -> None:
    """What ``driftloop gate`` stores with a version it judged."""
    record_gate_report(registry, {"model": model, "candidate_version": version,
                                  "champion_version": "1", "passed": passed,
                                  "failed": [] if passed else ["primary_metric"], "gates": []})  # fmt: skip


class Gate:
    """One repository with a driftloop proposal for churn v2, and MLflow with v1 champion."""

    def __init__(self, fake: FakeGitHub, tmp_path: Path) -> None:
        self.fake = fake
        self.tmp_path = tmp_path
        self.registry = MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")
        register_versions(self.registry, "churn", 9, tmp_path)
        self.registry.set_alias("churn", "champion", "1")
        self.host = GitHubHost(
            f"{fake.owner}/{fake.repo}", fake.base, Auth.Token(TOKEN), timeout=5,
            write_pause=0.1, settle=0.5,
        )  # fmt: skip

    def propose(self, version: str, reason: str = "drift") -> int:
        cand = {"model": "churn", "version": version, "run_id": "r", "model_uri": f"models:/churn/{version}",
                "metrics": {}, "trigger_id": f"churn-t{version}", "reason": reason, "data_uri": "demo://churn/persistent"}  # fmt: skip
        gate = {"model": "churn", "candidate_version": version, "champion_version": "1", "passed": True,
                "failed": [], "gates": [], "candidate_digest": digest_of(self.registry, "churn", version)}  # fmt: skip
        result = propose(SPEC, cand, gate, {}, self.host, [])
        gate_passed(self.registry, "churn", version)
        return result.number or 0

    def promote(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        """As promote.yml runs it: on the pushed commit (main's head) unless told otherwise."""
        capsys.readouterr()
        if not extra:
            extra = ("--commit", self.fake.heads["main"])
        code = main(["promote", "--host", "github", "--json", *extra])
        out = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(out[-1]) if out else {}

    def assert_untouched(self, version: str) -> None:
        assert self.registry.alias_version("churn", "champion") == "1"
        tags = self.registry.version_tags("churn", version)
        assert {k: v for k, v in tags.items() if k not in GATE_TAGS} == {}


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    with github_server(FakeGitHub(token=TOKEN)) as fake:
        fake.add_file(OVERLAY_FILE, (ROOT / OVERLAY_FILE).read_text())
        fake.add_file(".github/CODEOWNERS", CODEOWNERS)
        fake.teams["acme/ml-platform"] = ["dave", "alice", "mallory", "frank"]
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
        monkeypatch.setenv("GITHUB_API_URL", fake.base)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        keys = tmp_path / "keys"
        keys.mkdir()
        main(["keygen", "--out", str(keys)])
        monkeypatch.setenv("DRIFTLOOP_SIGNING_KEY_FILE", str(next(keys.glob("*.key"))))
        monkeypatch.setenv("DRIFTLOOP_APPROVAL_KEYS", str(keys))
        yield Gate(fake, tmp_path)
        assert fake.contract_errors == []
        assert not any(TOKEN in body for _, _, body in fake.requests)


def pin(version: str, fake: FakeGitHub, branch: str = "main") -> dict[str, str]:
    return {OVERLAY_FILE: set_version(fake.branches[branch][OVERLAY_FILE], "churn", version)}


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_approved_head_merged_is_promoted_with_the_approval_recorded(
    gate: Gate, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    number = gate.propose("2")
    head = gate.fake.pulls[number]["head"]["sha"]
    gate.fake.add_review(number, "dave")
    merge = gate.fake.merge(number, by="carol", method=method)
    code, result = gate.promote(capsys, "--commit", merge)
    assert code == 0, result
    assert result["promoted"] is True
    assert gate.registry.alias_version("churn", "champion") == "2"
    tags = gate.registry.version_tags("churn", "2")
    assert tags["approved_by"] == "dave"
    assert tags["head_sha"] == head
    assert tags["commit"] == merge
    assert tags["merged_by"] == "carol"
    assert tags["pr_url"].endswith(f"/pull/{number}")
    assert tags["promotion"] == "reviewed"
    # the same push seen again (a re-run of promote.yml) changes nothing
    assert gate.promote(capsys)[0] == 0


def test_stale_approval_of_an_earlier_head_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """alice approves v2; propose pushes v3 onto the same pull request; it is merged."""
    number = gate.propose("2")
    gate.fake.add_review(number, "alice")
    assert gate.propose("3") == number  # the open proposal is updated in place
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert result["version"] == "3"
    assert "approved-head" in result["rules"]
    assert any("stale approval" in reason for reason in result["reasons"])
    gate.assert_untouched("3")


def test_approval_after_the_merge_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.merge(number)
    gate.fake.add_review(number, "dave")  # the runbook used to suggest approving afterwards
    code, result = gate.promote(capsys)
    assert code == 1
    assert "approved-before-merge" in result["rules"]
    gate.assert_untouched("2")


def test_withdrawn_approval_is_refused(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "alice", "APPROVED")
    gate.fake.add_review(number, "alice", "COMMENTED")
    gate.fake.add_review(number, "alice", "CHANGES_REQUESTED")
    gate.fake.add_review(number, "alice", "COMMENTED")  # a comment does not restore it
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "latest-review" in result["rules"]
    gate.assert_untouched("2")


def test_dismissed_approval_is_refused(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "alice")
    gate.fake.dismiss_reviews(number)
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert (code, result["rules"]) == (1, ["approval", "latest-review"])
    gate.assert_untouched("2")


def test_forged_marker_then_direct_push_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hidden marker for v9 in a reason rides into an approved PR; v9 is pushed later."""
    forged = "retrain <!-- driftloop: model=churn version=9 trigger= -->"
    number = gate.propose("2", reason=forged)
    assert "<!-- driftloop: model=churn version=9" not in gate.fake.pulls[number]["body"]
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    assert gate.promote(capsys)[0] == 0  # v2 was reviewed
    direct = gate.fake.push("main", pin("9", gate.fake), author="mallory")
    code, result = gate.promote(capsys, "--commit", direct)
    assert code == 1
    assert result["rules"] == ["merged-pull-request"]
    assert "direct push" in result["reasons"][1]
    assert gate.registry.alias_version("churn", "champion") == "2"
    assert gate.registry.version_tags("churn", "9") == {}


def test_pull_request_from_a_fork_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.fake.open_fork_pull("mallory", "driftloop/churn-v9", pin("9", gate.fake))
    gate.fake.pulls[number]["body"] = "<!-- driftloop: model=churn version=9 trigger= -->"
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "same-repository" in result["rules"]
    gate.assert_untouched("9")


def test_someone_who_pushed_to_the_proposal_cannot_approve_it(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot authored the PR, so GitHub lets mallory approve after pushing v9 onto it."""
    number = gate.propose("2")
    gate.fake.push("driftloop/churn-v2", pin("9", gate.fake, "driftloop/churn-v2"), "mallory")
    gate.fake.add_review(number, "mallory")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "independent-reviewer" in result["rules"]
    gate.assert_untouched("9")


def test_the_bot_and_the_author_do_not_count(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, BOT, user_type="Bot")
    gate.fake.add_review(number, "renovate[bot]", user_type="Bot")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert (code, result["rules"]) == (1, ["approval", "independent-reviewer"])
    gate.assert_untouched("2")


def test_approver_must_own_the_overlay_as_the_base_says(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """eve is no code owner; frank's push making her one in the PR itself does not count."""
    number = gate.propose("2")
    gate.fake.push("driftloop/churn-v2", {".github/CODEOWNERS": "* @eve\n"}, author="frank")
    gate.fake.add_review(number, "eve")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "code-owner" in result["rules"]
    gate.assert_untouched("2")


def test_a_user_named_in_codeowners_counts_without_a_team(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "olivia")  # @olivia, not in the team
    gate.fake.merge(number)
    assert gate.promote(capsys)[0] == 0
    assert gate.registry.version_tags("churn", "2")["approved_by"] == "olivia"


def test_a_branch_that_is_not_a_proposal_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    gate.fake.create_branch("hotfix")
    gate.fake.push("hotfix", pin("5", gate.fake), author="mallory")
    pull = gate.fake._new_pull("quick fix", "", "mallory", "hotfix")
    gate.fake.add_review(pull["number"], "dave")
    gate.fake.merge(pull["number"])
    code, result = gate.promote(capsys)
    assert code == 1
    assert "driftloop-branch" in result["rules"]
    gate.assert_untouched("5")


def test_a_merge_that_does_not_set_the_version_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """v4 pushed directly; then a reviewed but unrelated merge must not launder it."""
    gate.fake.push("main", pin("4", gate.fake), author="mallory")
    gate.fake.create_branch("docs")
    gate.fake.push("docs", {"README.md": "hello\n"}, author="frank")
    pull = gate.fake._new_pull("docs", "", "frank", "docs")
    gate.fake.add_review(pull["number"], "dave")
    merge = gate.fake.merge(pull["number"])
    capsys.readouterr()
    assert main(["promote", "--host", "github", "--commit", merge]) == 0  # changes no pin
    assert "nothing to promote" in capsys.readouterr().out
    code, result = gate.promote(capsys, "--model", "churn", "--commit", merge)
    assert code == 1
    assert result["rules"] == ["merge-sets-version"]
    # without a commit, promote finds the commit that set v4: the direct push
    code, result = gate.promote(capsys, "--model", "churn")
    assert (code, result["rules"]) == (1, ["merged-pull-request"])
    gate.assert_untouched("4")


def test_a_pull_request_cannot_relax_the_rules_it_is_judged_by(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """The approval rules come from policies/gates.yaml at the base of the merge."""
    policy = (ROOT / "policies/gates.yaml").read_text()
    gate.fake.add_file("policies/gates.yaml", policy + "approval:\n  min_approvals: 2\n")
    number = gate.propose("2")
    relaxed = policy + "approval:\n  min_approvals: 1\n  require_code_owner: false\n"
    gate.fake.push("driftloop/churn-v2", {"policies/gates.yaml": relaxed}, author="frank")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "2 required" in " ".join(result["reasons"])
    gate.assert_untouched("2")


def test_two_models_are_proposed_and_promoted_independently(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both models have a pull request open at once; merging one promotes that model only,
    and the other's pull request still carries only its own pin."""
    register_versions(gate.registry, "taxi", 2, gate.tmp_path)
    gate.registry.set_alias("taxi", "champion", "1")
    gate_passed(gate.registry, "taxi", "2")
    churn = gate.propose("2")
    taxi_spec = load_model("taxi", ROOT / "models")
    cand = {"model": "taxi", "version": "2", "run_id": "r", "model_uri": "models:/taxi/2", "metrics": {},
            "trigger_id": "", "reason": "manual", "data_uri": "demo://taxi/reference"}  # fmt: skip
    passed = {"model": "taxi", "candidate_version": "2", "champion_version": "1", "passed": True,
              "failed": [], "gates": [], "candidate_digest": digest_of(gate.registry, "taxi", "2")}  # fmt: skip
    taxi = propose(taxi_spec, cand, passed, {}, gate.host, []).number or 0
    assert {p["state"] for p in gate.fake.pulls.values()} == {"open"}
    assert gate.fake.pulls[taxi]["head"]["ref"] == "driftloop/taxi-v2"
    gate.fake.add_review(churn, "dave")
    gate.fake.merge(churn)
    main_pins = pins(gate.fake.branches["main"][OVERLAY_FILE])
    assert (main_pins["churn"], main_pins["taxi"]) == ("2", "1")  # the merge touched churn only
    gate.fake.add_review(taxi, "alice")
    gate.fake.merge(taxi)
    after = pins(gate.fake.branches["main"][OVERLAY_FILE])
    assert (after["churn"], after["taxi"]) == ("2", "2")
    # promote run once after both merges (no commit given): each pin judged at its own merge
    capsys.readouterr()
    assert main(["promote", "--host", "github", "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["model"], r["version"], r["promoted"]) for r in results] == [
        ("churn", "2", True),
        ("taxi", "2", True),
    ]
    for model, approver, number in (("churn", "dave", churn), ("taxi", "alice", taxi)):
        tags = gate.registry.version_tags(model, "2")
        assert (tags["approved_by"], tags["pr_number"]) == (approver, str(number))
        assert gate.registry.alias_version(model, "champion") == "2"


# ---- #18: the last bypasses (each test fails on the code before it) -------------------------


def test_a_rebase_merge_is_judged_by_the_rules_of_the_branch_it_merged_into(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pull request's first commit makes eve an owner; rebased onto main, that commit is
    the merge commit's parent. The rules are read where main was before the merge."""
    number = gate.propose("2")
    gate.fake.push("driftloop/churn-v2", {".github/CODEOWNERS": CODEOWNERS + "* @eve\n/k8s/ @eve\n"},
                   author="frank")  # fmt: skip
    gate.fake.push("driftloop/churn-v2", {"README.md": "docs\n"}, author=BOT)
    gate.fake.add_review(number, "eve")
    merge = gate.fake.merge(number, method="rebase")
    assert len(gate.fake.commits[merge]["parents"]) == 1
    assert gate.fake.commits[merge]["parents"][0] != gate.fake.activity[-1]["before"]
    code, result = gate.promote(capsys, "--model", "churn", "--commit", merge)
    assert code == 1
    assert "code-owner" in result["rules"]
    gate.assert_untouched("2")


def test_who_pushed_comes_from_githubs_record_not_the_commit(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """dave pushes v9 onto the proposal as a commit authored by the App, then approves it."""
    number = gate.propose("2")
    gate.fake.push("driftloop/churn-v2", pin("9", gate.fake, "driftloop/churn-v2"),
                   author=BOT, actor="dave")  # fmt: skip
    gate_passed(gate.registry, "churn", "9")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "independent-reviewer" in result["rules"]
    assert any("dave pushed a commit" in reason for reason in result["reasons"])
    gate.assert_untouched("9")


def test_a_head_no_recorded_push_made_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    gate.fake.activity = [a for a in gate.fake.activity if a["branch"] != "driftloop/churn-v2"]
    code, result = gate.promote(capsys)
    assert code == 1
    assert "push-record" in result["rules"]
    gate.assert_untouched("2")


def test_unreadable_activity_is_not_a_pass(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    gate.fake.activity_visible = False
    code, _ = gate.promote(capsys)
    assert code == 3  # could not check: not promoted
    gate.assert_untouched("2")


def test_a_code_owner_without_write_access_does_not_count(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.permissions["olivia"] = "read"  # named in CODEOWNERS; GitHub ignores her
    gate.fake.add_review(number, "olivia")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "code-owner" in result["rules"]
    gate.assert_untouched("2")


def test_a_team_without_write_access_owns_nothing(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.team_access["acme/ml-platform"] = "triage"
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "code-owner" in result["rules"]
    gate.assert_untouched("2")


def test_two_commits_in_one_direct_push_are_both_judged(
    gate: Gate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The pin, then anything, pushed at once: promote.yml runs on the second commit. The
    run's count of unapproved changes reaches a real Pushgateway (the alert reads it)."""
    before = gate.fake.heads["main"]
    gate.fake.push("main", pin("9", gate.fake), author="mallory")
    after = gate.fake.push("main", {"README.md": "nothing to see\n"}, author="mallory")
    capsys.readouterr()
    binary = shutil.which("prometheus-pushgateway")
    assert binary is not None, "scripts/setup.sh installs prometheus-pushgateway"
    port = free_port()
    with running([binary, f"--web.listen-address=127.0.0.1:{port}"],
                 f"http://127.0.0.1:{port}/-/ready", "pushgateway", tmp_path / "gw.log") as gateway:  # fmt: skip
        code = main(["promote", "--host", "github", "--json", "--commit", after, "--since", before,
                     "--pushgateway", gateway])  # fmt: skip
        pushed = httpx.get(f"{gateway}/metrics", timeout=10).text
    assert 'driftloop_promote_unapproved_changes{instance="",job="driftloop-promote"} 1' in pushed
    assert 'driftloop_promote_refused{instance="",job="driftloop-promote"} 1' in pushed
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    change = next(line for line in lines if "change" in line)
    assert change["approved"] is False
    assert change["actor"] == "mallory"
    assert OVERLAY_FILE in change["paths"]
    assert change["issue"]
    issue = next(i for i in gate.fake.issues.values() if "Unapproved change" in i["title"])
    assert any(label["name"] == "unapproved-change" for label in issue["labels"])
    assert lines[-1]["rules"] == ["merged-pull-request"]
    gate.assert_untouched("9")


def test_a_push_whose_promote_run_was_cancelled_is_judged_by_the_next(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """v2 merged and promoted; then a direct push to k8s/base whose run was cancelled; then
    a docs push. The next run judges from the last judged commit, not just its own push."""
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    assert gate.promote(capsys)[0] == 0
    gate.fake.push("main", {"k8s/base/rollout-patch.yaml": "image: evil\n"}, author="mallory")
    before = gate.fake.heads["main"]
    after = gate.fake.push("main", {"README.md": "docs\n"}, author="frank")
    capsys.readouterr()
    code = main(["promote", "--host", "github", "--json", "--commit", after, "--since", before])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [line["paths"] for line in lines if not line["approved"]] == [
        ["k8s/base/rollout-patch.yaml"]
    ]
    assert gate.registry.alias_version("churn", "champion") == "2"


def test_a_marker_moved_by_an_mlflow_writer_is_not_trusted(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """promote signs its marker. Someone with the MLflow token moves it past a direct push
    whose run was cancelled; the next run sees it does not verify and judges further back."""
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    assert gate.promote(capsys)[0] == 0
    assert "payloadType" in (gate.registry.marker(MARKER) or "")  # signed
    sneaky = gate.fake.push(
        "main", {"k8s/base/rollout-patch.yaml": "image: evil\n"}, author="mallory"
    )
    gate.registry.set_marker(MARKER, sneaky)  # "already judged"
    after = gate.fake.push("main", {"README.md": "docs\n"}, author="frank")
    capsys.readouterr()
    code = main(["promote", "--host", "github", "--json", "--commit", after, "--since", sneaky])
    out = capsys.readouterr()
    assert code == 1, out.err
    assert "marker in MLflow is not signed: ignored" in out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert sneaky in [line["after"] for line in lines if "change" in line and not line["approved"]]


def test_a_reviewed_pull_request_changing_production_paths_is_approved(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    gate.fake.create_branch("rollout-tuning", actor="frank")
    gate.fake.push(
        "rollout-tuning", {"k8s/base/rollout-patch.yaml": "replicas: 3\n"}, author="frank"
    )
    pull = gate.fake._new_pull("tune the rollout", "", "frank", "rollout-tuning")
    gate.fake.add_review(pull["number"], "dave")
    merge = gate.fake.merge(pull["number"])
    capsys.readouterr()
    assert main(["promote", "--host", "github", "--json", "--commit", merge]) == 0
    (change,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (change["approved"], change["pull_request"]) == (True, pull["number"])


def test_no_codeowners_at_the_base_refuses_even_on_auto(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    gate.fake.commits[gate.fake.heads["main"]]["files"].pop(".github/CODEOWNERS")
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "code-owner" in result["rules"]
    assert any("has no CODEOWNERS" in reason for reason in result["reasons"])
    gate.assert_untouched("2")


def test_an_approval_in_the_merges_second_does_not_count(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.merge(number)
    gate.fake.add_review(number, "dave", commit_id=gate.fake.pulls[number]["head"]["sha"],
                         submitted_at=gate.fake.pulls[number]["merged_at"])  # fmt: skip
    code, result = gate.promote(capsys)
    assert code == 1
    assert "approved-before-merge" in result["rules"]
    gate.assert_untouched("2")


@pytest.mark.parametrize("report", ["failed", "none"])
def test_a_version_without_a_passed_gate_report_of_its_own_is_refused(
    gate: Gate, capsys: pytest.CaptureFixture[str], report: str
) -> None:
    number = gate.propose("2")
    if report == "failed":
        gate_passed(gate.registry, "churn", "2", passed=False)
    else:
        gate.registry.set_version_tags("churn", "2", {"driftloop.gate_report": ""})
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert "gate-passed" in result["rules"]
    assert gate.registry.alias_version("churn", "champion") == "1"


def test_the_promoted_version_carries_a_signature_that_verifies(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    number = gate.propose("2")
    gate.fake.add_review(number, "dave")
    merge = gate.fake.merge(number, by="carol")
    assert gate.promote(capsys)[0] == 0
    capsys.readouterr()
    assert main(["verify", "--model-uri", "models:/churn/2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["verified"], result["approved_by"], result["merge_commit"]) == (
        True,
        "dave",
        merge,
    )
    assert result["pr_url"].endswith(f"/pull/{number}")
    assert main(["verify", "--model-uri", "models:/churn/3"]) == 1  # never approved


def test_a_bundle_swapped_in_the_artifact_store_after_its_gate_is_not_signed(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone with the MLflow token (a hostile train.py of any model) replaces v2's files
    after the gate scored them and propose pinned their digest: the reviewed commit names
    other files than MLflow holds, so promote signs nothing."""
    number = gate.propose("2")
    assert pinned_digest(gate.fake.branches["driftloop/churn-v2"][OVERLAY_FILE], "churn") == \
        digest_of(gate.registry, "churn", "2")  # fmt: skip
    run = gate.registry.client.get_model_version("churn", "2").run_id
    stored = next(gate.tmp_path.rglob(f"{run}/artifacts/model/MLmodel"))
    stored.write_text(stored.read_text() + "# swapped\n")
    gate.fake.add_review(number, "dave")
    gate.fake.merge(number)
    code, result = gate.promote(capsys)
    assert code == 1
    assert result["rules"] == ["bundle-digest"]
    gate.assert_untouched("2")


def test_a_merged_pin_without_a_valid_approval_is_reported_as_an_unapproved_change(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """An admin merges a proposal nobody approved: the pin is refused and, like a direct
    push, the change is reported (issue, count for the alert)."""
    number = gate.propose("2")
    merge = gate.fake.merge(number)
    capsys.readouterr()
    assert main(["promote", "--host", "github", "--json", "--commit", merge]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (change,) = [line for line in lines if "change" in line]
    assert (change["approved"], change["pull_request"]) == (False, number)
    assert "approval" in change["rules"]
    assert change["issue"]
    assert lines[-1]["promoted"] is False
    gate.assert_untouched("2")
