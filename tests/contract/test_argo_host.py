"""Argo Workflows as the retrain executor, against a local Argo Server that validates every
request and answer against the Argo Server's Swagger description."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from tests.support.argo_server import FakeArgo, Fault, argo_server
from tests.support.github_server import FakeGitHub, github_server

from driftloop.adapters.argo import ArgoServer, label_value, read_token
from driftloop.adapters.routed import RoutedHost
from driftloop.cli.main import main
from driftloop.errors import UpstreamError, UsageError
from driftloop.policy.signals import Dispatch, History

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "argo-secret-TOKEN-value"  # noqa: S105 - a test token
NOW = datetime.now(UTC)


def later() -> datetime:
    """After anything submitted so far (the module may have been imported long ago)."""
    return datetime.now(UTC) + timedelta(minutes=1)


def template(model: str) -> dict:  # type: ignore[type-arg]
    params = [{"name": n} for n in ("model", "reason", "trigger-id", "evidence")]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
            "metadata": {"name": f"retrain-{model}", "namespace": "driftloop"},
            "spec": {"arguments": {"parameters": params}, "entrypoint": "retrain"}}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeArgo]:
    with argo_server(FakeArgo(token=TOKEN)) as server:
        for model in ("churn", "taxi"):
            server.add_template(template(model))
        yield server
        assert server.contract_errors == []


def host(fake: FakeArgo, token: str = TOKEN) -> ArgoServer:
    return ArgoServer(fake.base, "driftloop", token, timeout=5)


def test_a_submission_carries_the_trigger_and_happens_once(fake: FakeArgo) -> None:
    argo = host(fake)
    where = argo.dispatch_retrain("churn", "drift: tenure", "churn-20261207T0300Z",
                                  '{"a":"b,c=d"}', NOW, False)  # fmt: skip
    assert len(fake.workflows) == 1
    workflow = fake.workflows[0]
    assert where == f"{fake.base}/workflows/driftloop/{workflow['metadata']['name']}"
    assert workflow["metadata"]["name"].startswith("retrain-churn-")
    labels = workflow["metadata"]["labels"]
    assert labels["driftloop.dev/model"] == "churn"
    assert labels["driftloop.dev/trigger-id"] == "churn-20261207T0300Z"
    assert labels["driftloop.dev/manual"] == "false"
    params = {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}
    assert params == {"model": "churn", "reason": "drift: tenure",
                      "trigger-id": "churn-20261207T0300Z", "evidence": '{"a":"b,c=d"}'}  # fmt: skip
    # the retried CronJob finds it: no second workflow
    assert (
        argo.dispatch_retrain("churn", "drift", "churn-20261207T0300Z", "{}", NOW, False) == where
    )
    assert len(fake.workflows) == 1
    # a new episode is a new workflow
    argo.dispatch_retrain("churn", "drift", "churn-20261208T0300Z", "{}", NOW, False)
    assert len(fake.workflows) == 2


def test_a_lost_answer_is_found_not_submitted_again(fake: FakeArgo) -> None:
    fake.faults.append(Fault("POST", r"/submit$", 503, after_write=True))
    where = host(fake).dispatch_retrain("taxi", "drift", "taxi-20261207T0300Z", "{}", NOW, False)
    assert len(fake.workflows) == 1
    assert where.endswith(fake.workflows[0]["metadata"]["name"])
    submits = [u for m, u in fake.requests if m == "POST"]
    assert len(submits) == 1  # found by its label, never posted twice


def test_a_failed_submission_is_retried_and_a_refused_one_is_not(fake: FakeArgo) -> None:
    fake.faults.append(Fault("POST", r"/submit$", 502))
    host(fake).dispatch_retrain("taxi", "drift", "taxi-1", "{}", NOW, False)
    assert len(fake.workflows) == 1
    with pytest.raises(UpstreamError, match=r'workflowtemplates\.argoproj\.io "retrain-nomodel"'):
        host(fake).dispatch_retrain("nomodel", "drift", "nomodel-1", "{}", NOW, False)
    assert len([u for m, u in fake.requests if m == "POST"]) == 3  # 502 + retry, 404 once


def test_a_refused_token_is_an_upstream_error_without_the_token(fake: FakeArgo) -> None:
    with pytest.raises(UpstreamError, match="401 \\(the token was refused\\)") as caught:
        host(fake, token="wrong-token").dispatch_retrain("churn", "r", "t", "{}", NOW, False)  # noqa: S106
    assert "wrong-token" not in str(caught.value)
    assert fake.workflows == []


def test_a_long_trigger_id_is_labelled_by_its_digest_and_still_found(fake: FakeArgo) -> None:
    trigger = "churn-manual-" + "x" * 80
    argo = host(fake)
    argo.dispatch_retrain("churn", "r", trigger, "{}", NOW, True)
    argo.dispatch_retrain("churn", "r", trigger, "{}", NOW, True)
    assert len(fake.workflows) == 1
    assert fake.workflows[0]["metadata"]["labels"]["driftloop.dev/trigger-id"] == label_value(
        trigger
    )
    history = argo.retrain_history("churn", later())
    assert [(d.trigger_id, d.manual) for d in history.dispatches] == [(trigger, True)]


def test_the_fleets_history_is_one_list_whatever_its_size(fake: FakeArgo) -> None:
    argo = host(fake)
    models = [f"m{i:03d}" for i in range(200)]
    for model in models[:3]:
        fake.add_template(template(model))
        argo.dispatch_retrain(model, "r", f"{model}-1", "{}", NOW, False)
    fake.set_phase(fake.workflows[0]["metadata"]["name"], "Succeeded")
    fake.set_phase(fake.workflows[1]["metadata"]["name"], "Running")
    before = len(fake.requests)
    found = argo.retrain_histories(models, later())
    assert len(fake.requests) - before == 1
    assert [d.trigger_id for d in found["m000"].dispatches] == ["m000-1"]
    assert found["m000"].active_run is None
    assert "Running" in (found["m001"].active_run or "")
    assert found["m002"].active_run is not None  # not yet picked up by the controller
    assert found["m150"] == History()
    # since: older dispatches are not read back
    assert argo.retrain_histories(["m000"], NOW, NOW + timedelta(hours=1))["m000"] == History()


def test_the_history_reads_every_page(fake: FakeArgo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("driftloop.adapters.argo.PAGE", 2)
    argo = host(fake)
    for i in range(5):
        argo.dispatch_retrain("churn", "r", f"churn-{i}", "{}", NOW, False)
    history = argo.retrain_history("churn", later())
    assert sorted(d.trigger_id for d in history.dispatches) == [f"churn-{i}" for i in range(5)]


class Recorded:
    """A RepoHost that records (the GitHub side of a routed fleet)."""

    def __init__(self, history: History) -> None:
        self.history, self.dispatched = history, []  # type: ignore[var-annotated]

    def retrain_history(self, model: str, now: datetime) -> History:
        return self.history

    def retrain_histories(self, models, now, since=None):  # type: ignore[no-untyped-def]
        return dict.fromkeys(models, self.history)

    def dispatch_retrain(self, model, reason, trigger_id, evidence, now, manual):  # type: ignore[no-untyped-def]
        self.dispatched.append(model)
        return "github"


def test_a_routed_fleet_dispatches_each_model_by_its_executor(fake: FakeArgo) -> None:
    earlier = Dispatch(NOW - timedelta(days=2), "churn-old")
    github = Recorded(History((earlier,), "#7", None))
    routed = RoutedHost(github, host(fake), {"churn": "argo", "taxi": "github"})
    assert routed.dispatch_retrain("taxi", "r", "taxi-1", "{}", NOW, False) == "github"
    assert "/workflows/driftloop/" in routed.dispatch_retrain(
        "churn", "r", "churn-1", "{}", NOW, False
    )
    assert github.dispatched == ["taxi"]
    assert len(fake.workflows) == 1
    found = routed.retrain_histories(["churn", "taxi"], later())
    # a model moved to Argo keeps its GitHub dispatches (cooldown, cap) and its open PR
    assert [d.trigger_id for d in found["churn"].dispatches] == ["churn-old", "churn-1"]
    assert found["churn"].open_pull_request == "#7"
    assert found["churn"].active_run is not None
    assert found["taxi"] == github.history


def test_the_token_file_must_exist_be_readable_and_hold_a_token(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing: no such file"):
        read_token(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="cannot be read"):
        read_token(str(tmp_path))  # a directory (root reads any file whatever its mode)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="does not hold one token"):
        read_token(str(tmp_path / "empty"))
    (tmp_path / "bearer").write_text("Bearer abc.def\n")
    assert read_token(str(tmp_path / "bearer")) == "abc.def"


# ---- the CLI: check and trigger with --dispatch argo ---------------------------------------


def repository(tmp_path: Path, executor: str = "argo") -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "models", repo / "models")
    shutil.copytree(ROOT / "policies", repo / "policies")
    for model, where in (("churn", executor), ("taxi", "github")):
        spec = repo / f"models/{model}/model.yaml"
        data = yaml.safe_load(spec.read_text())
        data["retrain"] = {"executor": where}
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
    return repo


@pytest.fixture
def services(
    fake: FakeArgo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGitHub]:
    with github_server(FakeGitHub()) as github:
        github.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        token = tmp_path / "token"
        token.write_text(TOKEN + "\n")
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{github.owner}/{github.repo}")
        monkeypatch.setenv("GITHUB_API_URL", github.base)
        monkeypatch.setenv("GITHUB_TOKEN", github.token)
        monkeypatch.setenv("DRIFTLOOP_ARGO_SERVER", fake.base)
        monkeypatch.setenv("DRIFTLOOP_ARGO_TOKEN_FILE", str(token))
        yield github
        assert github.contract_errors == []


def trigger(repo: Path, model: str, dispatch: str) -> list[str]:
    return ["trigger", "--model", model, "--reason", "by hand", "--dispatch", dispatch, "--json",
            "--models", str(repo / "models"), "--policy", str(repo / "policies/drift.yaml")]  # fmt: skip


def test_trigger_sends_each_model_where_its_executor_says(
    tmp_path: Path, fake: FakeArgo, services: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path)
    assert main(trigger(repo, "churn", "argo")) == 0
    assert "/workflows/driftloop/retrain-churn-" in capsys.readouterr().out
    assert main(trigger(repo, "taxi", "argo")) == 0
    assert len(fake.workflows) == 1
    assert len(services.dispatches) == 1
    assert services.dispatches[0]["inputs"]["model"] == "taxi"
    # the running Argo retrain blocks a second one, as a queued GitHub run does
    assert main(trigger(repo, "churn", "argo")) == 1
    assert (
        "is queued or running" in json.loads(capsys.readouterr().out.splitlines()[-1])["reasons"][1]
    )
    assert len(fake.workflows) == 1


def test_an_argo_model_is_never_dispatched_to_github(
    tmp_path: Path, fake: FakeArgo, services: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path)
    assert main(trigger(repo, "churn", "github")) == 2
    assert "churn: retrain.executor is argo" in capsys.readouterr().err
    assert services.dispatches == []
    assert fake.workflows == []


@pytest.mark.parametrize("problem", ["missing", "directory", "unset-server"])
def test_bad_argo_settings_are_exit_2_and_nothing_is_submitted(
    tmp_path: Path, fake: FakeArgo, services: FakeGitHub, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], problem: str,
) -> None:  # fmt: skip
    repo = repository(tmp_path)
    if problem == "missing":
        monkeypatch.setenv("DRIFTLOOP_ARGO_TOKEN_FILE", str(tmp_path / "nothing"))
    elif problem == "directory":
        monkeypatch.setenv("DRIFTLOOP_ARGO_TOKEN_FILE", str(tmp_path))
    else:
        monkeypatch.delenv("DRIFTLOOP_ARGO_SERVER")
    assert main(trigger(repo, "churn", "argo")) == 2
    err = capsys.readouterr().err
    assert (
        "DRIFTLOOP_ARGO_SERVER" if problem == "unset-server" else "DRIFTLOOP_ARGO_TOKEN_FILE"
    ) in err
    assert TOKEN not in err
    assert fake.requests == []
    assert services.dispatches == []


def test_doctor_checks_the_argo_models_templates_on_the_server(
    fake: FakeArgo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from driftloop.doctor import check_argo

    assert check_argo([]) is None  # nothing on argo: nothing to check
    monkeypatch.delenv("DRIFTLOOP_ARGO_SERVER", raising=False)
    unset = check_argo(["taxi"])
    assert unset is not None
    assert not unset.ok
    assert "taxi retrain on argo; no server is set" in unset.detail
    token = tmp_path / "token"
    token.write_text(TOKEN)
    monkeypatch.setenv("DRIFTLOOP_ARGO_SERVER", fake.base)
    monkeypatch.setenv("DRIFTLOOP_ARGO_TOKEN_FILE", str(token))
    for name in list(fake.templates):  # as make manifests labels them
        fake.templates[name]["metadata"]["labels"] = {"driftloop.dev/model": name[8:]}
    found = check_argo(["churn", "taxi"])
    assert found is not None
    assert found.ok, found.detail
    missing = check_argo(["churn", "fraud"])
    assert missing is not None
    assert not missing.ok
    assert "no WorkflowTemplate retrain-fraud in driftloop" in missing.detail
    token.write_text("wrong")
    refused = check_argo(["taxi"])
    assert refused is not None
    assert "the token was refused" in refused.detail
