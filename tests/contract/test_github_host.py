"""The GitHub repo host through PyGithub against the local server that validates every
request and response against GitHub's OpenAPI description."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from github import Auth
from tests.support.github_server import FakeGitHub, github_server

from driftloop.adapters.github import GitHubHost
from driftloop.config import load_model
from driftloop.errors import ConfigError, UpstreamError
from driftloop.gitops.overlay import OVERLAY_FILE, served_version
from driftloop.loop.propose import propose

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghs_secretTOKENvalue123"  # noqa: S105 - a test token
SPEC = load_model("churn", ROOT / "models")


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with github_server(FakeGitHub(token=TOKEN)) as server:
        server.add_file(OVERLAY_FILE, (ROOT / OVERLAY_FILE).read_text())
        yield server
        assert server.contract_errors == []
        assert not any(TOKEN in body for _, _, body in server.requests)


def host(fake: FakeGitHub, token: str = TOKEN, settle: float = 1.0) -> GitHubHost:
    return GitHubHost(
        f"{fake.owner}/{fake.repo}", fake.base, Auth.Token(token), retries=3, timeout=5,
        write_pause=0.2, settle=settle,
    )  # fmt: skip


def candidate(version: str, passed: bool = True) -> tuple[dict, dict]:  # type: ignore[type-arg]
    cand = {"model": "churn", "version": version, "run_id": "r1", "model_uri": f"models:/churn/{version}",
            "metrics": {"roc_auc": 0.88}, "data_digest": "sha256:x", "trigger_id": "churn-20260105T1205Z",
            "reason": "drift", "data_uri": "demo://churn/persistent"}  # fmt: skip
    gate = {"model": "churn", "candidate_version": version, "champion_version": "1", "passed": passed,
            "failed": [] if passed else ["per_class_f1_min"],
            "gates": [{"name": "per_class_f1_min", "champion": 0.49, "candidate": 0.71 if passed else 0.01,
                       "delta": 0.2, "threshold": 0.3, "passed": passed, "dataset": "golden"}]}  # fmt: skip
    return cand, gate


EVIDENCE = {
    "top_features": [{"feature": "monthly_charges", "psi": 0.34, "samples": 1200}],
    "since": "2026-01-05T12:05:00Z",
}


def test_dispatch_is_looked_up_before_it_is_made(fake: FakeGitHub) -> None:
    gh = host(fake)
    now = datetime.now(UTC)
    gh.dispatch_retrain("churn", "drift", "churn-20260105T1205Z", '{"top":1}', now, False)
    gh.dispatch_retrain("churn", "drift", "churn-20260105T1205Z", '{"top":1}', now, False)
    assert len(fake.dispatches) == 1
    assert fake.dispatches[0] == {"ref": "main", "inputs": {"model": "churn", "reason": "drift",
                                  "trigger_id": "churn-20260105T1205Z", "evidence": '{"top":1}'}}  # fmt: skip
    history = gh.retrain_history("churn", datetime.now(UTC))
    assert [d.trigger_id for d in history.dispatches] == ["churn-20260105T1205Z"]
    assert history.active_run == "churn-20260105T1205Z (queued)"
    assert gh.retrain_history("taxi", datetime.now(UTC)).dispatches == ()
    fake.finish_runs()
    assert gh.retrain_history("churn", datetime.now(UTC)).active_run is None


def test_histories_of_a_fleet_cost_the_same_requests_as_one(fake: FakeGitHub) -> None:
    """The check reads every model's history each run: one listing of runs and one of open
    pull requests, whatever the number of models; the same answers as one model at a time."""
    gh = host(fake)
    now = datetime.now(UTC)
    gh.dispatch_retrain("churn", "drift", "churn-20260105T1205Z", "{}", now, False)
    gh.dispatch_retrain("taxi", "drift", "taxi-20260105T1205Z", "{}", now, False)
    gh.repo  # noqa: B018 - resolve the repository before counting
    fleet = ["churn", "taxi", *(f"m{i:03d}" for i in range(40))]
    before = len(fake.requests)
    histories = gh.retrain_histories(fleet, datetime.now(UTC))
    fleet_requests = len(fake.requests) - before
    before = len(fake.requests)
    gh.retrain_histories(["churn"], datetime.now(UTC))
    assert fleet_requests == len(fake.requests) - before <= 3
    assert histories["churn"] == gh.retrain_history("churn", datetime.now(UTC))
    assert [d.trigger_id for d in histories["taxi"].dispatches] == ["taxi-20260105T1205Z"]
    assert histories["m007"].dispatches == ()


def test_lost_dispatch_answer_is_not_dispatched_twice(fake: FakeGitHub) -> None:
    fake.fail("POST", r".*/dispatches", 502, after_write=True)  # it ran; the answer was lost
    host(fake).dispatch_retrain("churn", "drift", "churn-x", "{}", datetime.now(UTC), False)
    assert len(fake.dispatches) == 1


def test_lost_dispatch_answer_survives_a_delayed_run_listing(fake: FakeGitHub) -> None:
    """GitHub lists a new run seconds after the dispatch: the retry after a lost answer must
    wait for it rather than dispatch again (two retrains for one drift episode)."""
    fake.run_list_delay = 2.0
    fake.fail("POST", r".*/dispatches", 502, after_write=True)
    host(fake, settle=6.0).dispatch_retrain(
        "churn", "drift", "churn-d", "{}", datetime.now(UTC), False
    )
    assert len(fake.dispatches) == 1


def test_lost_issue_create_answer_makes_one_issue(fake: FakeGitHub) -> None:
    """PyGithub retries a POST after a 5xx; the first attempt had opened the issue."""
    fake.fail("POST", r"/repos/acme/models/issues", 502, after_write=True)
    result = propose(SPEC, *candidate("2", passed=False), EVIDENCE, host(fake), [])
    assert (result.kind, result.action) == ("issue", "created")
    assert len(fake.issues) == 1
    fake.fail("POST", r"/repos/acme/models/issues/\d+/comments", 502, after_write=True)
    propose(SPEC, *candidate("3", passed=False), EVIDENCE, host(fake), [])
    assert len(fake.comments) == 1


def test_failed_dispatch_is_retried(fake: FakeGitHub) -> None:
    fake.fail("POST", r".*/dispatches", 503, times=2)  # refused twice, then accepted
    host(fake).dispatch_retrain("churn", "drift", "churn-y", "{}", datetime.now(UTC), False)
    assert len(fake.dispatches) == 1
    fake.fail("POST", r".*/dispatches", 503, times=10)
    with pytest.raises(UpstreamError, match="503"):
        host(fake).dispatch_retrain("churn", "drift", "churn-z", "{}", datetime.now(UTC), False)


def test_missing_workflow_is_a_clear_error(fake: FakeGitHub) -> None:
    fake.workflows = {"other.yml": 7}
    with pytest.raises(UpstreamError, match=r"retrain.yml runs: 404"):
        host(fake).dispatch_retrain("churn", "drift", "churn-x", "{}", datetime.now(UTC), False)


def test_pull_request_is_created_once_updated_for_a_newer_version(fake: FakeGitHub) -> None:
    gh = host(fake)
    cand, gate = candidate("2")
    created = propose(SPEC, cand, gate, EVIDENCE, gh, ["alice"])
    assert created.action == "created"
    pull = fake.pulls[created.number or 0]
    assert pull["head"]["ref"] == "driftloop/churn-v2"
    assert {label["name"] for label in pull["labels"]} == {"driftloop", "model:churn"}
    assert [r["login"] for r in pull["requested_reviewers"]] == ["alice"]
    assert served_version(fake.branches["driftloop/churn-v2"][OVERLAY_FILE], "churn") == "2"
    assert served_version(fake.branches["main"][OVERLAY_FILE], "churn") == "1"  # main untouched
    assert "| `per_class_f1_min` | `golden` |" in pull["body"]

    assert propose(SPEC, cand, gate, EVIDENCE, gh, ["alice"]).action == "unchanged"
    newer = propose(SPEC, *candidate("3"), EVIDENCE, gh, ["alice"])
    assert (newer.action, newer.number) == ("updated", created.number)
    assert served_version(fake.branches["driftloop/churn-v2"][OVERLAY_FILE], "churn") == "3"
    assert len(fake.pulls) == 1


def test_lost_create_response_and_retry_make_exactly_one_pull_request(fake: FakeGitHub) -> None:
    fake.fail("POST", r".*/pulls", 502, after_write=True)
    result = propose(SPEC, *candidate("2"), EVIDENCE, host(fake), [])
    assert result.action == "created"
    assert len(fake.pulls) == 1
    assert result.number == next(iter(fake.pulls))


def test_existing_branch_is_reused(fake: FakeGitHub) -> None:
    fake.create_branch("driftloop/churn-v2")
    assert propose(SPEC, *candidate("2"), EVIDENCE, host(fake), []).action == "created"


def test_rate_limit_with_retry_after_waits_and_succeeds(fake: FakeGitHub) -> None:
    fake.fail("GET", r"/repos/acme/models/pulls", 403, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert propose(SPEC, *candidate("2"), EVIDENCE, host(fake), []).action == "created"
    assert time.monotonic() - started >= 1.0


def test_stale_overlay_edit_is_rebased_or_refused(fake: FakeGitHub) -> None:
    edited = fake.branches["main"][OVERLAY_FILE].replace(
        "resources:\n", "resources:  # reviewed by sre\n"
    )
    fake.add_file(OVERLAY_FILE, edited)  # someone edited the overlay meanwhile
    propose(SPEC, *candidate("2"), EVIDENCE, host(fake), [])
    on_branch = fake.branches["driftloop/churn-v2"][OVERLAY_FILE]
    assert "# reviewed by sre" in on_branch
    assert served_version(on_branch, "churn") == "2"
    fake.add_file(OVERLAY_FILE, edited.replace("models:/churn/1", "models:/fraud/1"))
    with pytest.raises(ConfigError, match="pins 'fraud' under the name of 'churn'"):
        propose(SPEC, *candidate("4"), EVIDENCE, host(fake), [])


def test_failed_gates_issue_then_comment(fake: FakeGitHub) -> None:
    gh = host(fake)
    first = propose(SPEC, *candidate("2", passed=False), EVIDENCE, gh, [])
    second = propose(SPEC, *candidate("3", passed=False), EVIDENCE, gh, [])
    assert (first.kind, first.action) == ("issue", "created")
    assert (second.action, second.number) == ("commented", first.number)
    issue = fake.issues[first.number or 0]
    assert {label["name"] for label in issue["labels"]} == {
        "driftloop",
        "gate-failed",
        "model:churn",
    }
    assert [c["issue"] for c in fake.comments] == [first.number]
    assert not fake.pulls


def test_bad_token_is_exit_three_naming_the_permissions(fake: FakeGitHub, tmp_path: Path) -> None:
    env = {"GITHUB_TOKEN": "wrong-token-value", "GITHUB_REPOSITORY": "acme/models", "GITHUB_API_URL": fake.base,
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(candidate("2")[0]))
    (tmp_path / "g.json").write_text(json.dumps(candidate("2")[1]))
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "propose", "--host", "github", "--model", "churn",
         "--candidate", str(tmp_path / "c.json"), "--gate-report", str(tmp_path / "g.json"),
         "--models", str(ROOT / "models"), "--policy", str(ROOT / "policies/gates.yaml"),
         "--drift-policy", str(ROOT / "policies/drift.yaml")],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "401" in result.stderr
    assert "contents, pull-requests, issues: write" in result.stderr
    assert "wrong-token-value" not in result.stderr + result.stdout


def test_check_with_a_bad_token_is_exit_three_naming_actions_write(fake: FakeGitHub) -> None:
    env = {
        "GITHUB_TOKEN": "nope",
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": fake.base,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "check", "--prometheus", "http://127.0.0.1:9",
         "--dispatch", "github", "--model", "churn", "--policy", str(ROOT / "policies/drift.yaml")],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3
    assert "actions: write" in result.stderr
    assert not fake.dispatches


def test_github_app_installation_auth(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fake.app_id, fake.installation_id = 4242, 77
    fake.app_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    credentials = tmp_path / "github-app"
    credentials.mkdir()
    (credentials / "app-id").write_text("4242\n")
    (credentials / "installation-id").write_text("77\n")
    (credentials / "private-key").write_bytes(pem)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_APP_CREDENTIALS_DIR", str(credentials))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_API_URL", fake.base)
    host = GitHubHost.from_environment()
    host.dispatch_retrain("churn", "drift", "churn-app", "{}", datetime.now(UTC), False)
    assert fake.app_token_requests >= 1
    assert fake.dispatches[0]["inputs"]["trigger_id"] == "churn-app"
    host.close()


def test_unreadable_app_credentials_are_exit_three_naming_the_file(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """A Secret mounted so the job's user cannot read it (as root here, a key that is a
    directory stands in for a file it may not open) is an upstream error, not a traceback."""
    credentials = tmp_path / "github-app"
    credentials.mkdir()
    (credentials / "app-id").write_text("4242\n")
    (credentials / "installation-id").write_text("77\n")
    (credentials / "private-key").mkdir()
    env = {"GITHUB_APP_CREDENTIALS_DIR": str(credentials), "GITHUB_REPOSITORY": "acme/models",
           "GITHUB_API_URL": fake.base, "PATH": "/usr/bin:/bin"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "check", "--prometheus", "http://127.0.0.1:9",
         "--dispatch", "github", "--model", "churn", "--policy", str(ROOT / "policies/drift.yaml")],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert f"cannot read the GitHub App credentials {credentials / 'private-key'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_pin_image_opens_a_pull_request_setting_the_digest(
    fake: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftloop.cli.main import main
    from driftloop.gitops.images import BASE_FILE, pinned_digest

    fake.add_file(BASE_FILE, (ROOT / BASE_FILE).read_text())
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_API_URL", fake.base)
    digest = "sha256:" + "ab" * 32
    assert main(["pin-image", "--host", "github", "--digest", "sha256:nothex"]) == 2
    assert not fake.pulls
    capsys.readouterr()
    assert main(["pin-image", "--host", "github", "--digest", digest, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    pull = fake.pulls[result["number"]]
    assert pull["head"]["ref"] == "driftloop/image-abababababab"
    branch = fake.branches["driftloop/image-abababababab"][BASE_FILE]
    assert pinned_digest(branch) == digest
    assert "The one image every workload runs" in branch  # comments kept
    assert pinned_digest(fake.branches["main"][BASE_FILE]) == "sha256:" + "0" * 64
    # #23.7: a digest with a trailing newline is refused; a rerun opens no second pull request
    assert main(["pin-image", "--host", "github", "--digest", digest + "\n"]) == 2
    capsys.readouterr()
    assert main(["pin-image", "--host", "github", "--digest", digest, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["number"] == result["number"]
    assert len(fake.pulls) == 1
    assert fake.branches["driftloop/image-abababababab"][BASE_FILE] == branch


def test_a_month_of_history_reaches_past_the_latest_hundred_runs(fake: FakeGitHub) -> None:
    """A monthly schedule dedups on its trigger id: the check must still see this month's
    scheduled dispatch after 150 newer runs (the latest 100 would miss it and dispatch the
    schedule again). Pages of 100 keep it to a few requests."""
    gh = host(fake)
    now = datetime.now(UTC)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    fake.add_run("churn", "churn-schedule-20260101", (now - timedelta(days=20)).strftime(stamp),
                 status="completed")  # fmt: skip
    for i in range(150):
        fake.add_run(f"m{i:03d}", f"m{i:03d}-x", (now - timedelta(days=2)).strftime(stamp),
                     status="completed")  # fmt: skip
    fake.add_run("taxi", "taxi-old", (now - timedelta(days=40)).strftime(stamp), status="completed")
    gh.repo  # noqa: B018 - resolve the repository before counting
    before = len(fake.requests)
    month = gh.retrain_histories(["churn", "taxi"], now, since=now - timedelta(days=31))
    assert len(fake.requests) - before <= 4  # the workflow, 2 pages of runs, open pulls
    assert [d.trigger_id for d in month["churn"].dispatches] == ["churn-schedule-20260101"]
    assert month["taxi"].dispatches == ()  # created before `since`: not listed
    latest = gh.retrain_histories(["churn"], now)
    assert latest["churn"].dispatches == ()  # the latest 100 alone miss it
    assert fake.contract_errors == []
