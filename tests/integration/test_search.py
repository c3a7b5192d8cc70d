"""Hyper-parameter search (estimator.search): a real Optuna study, trials as MLflow child
runs, the best parameters registered and gated like any candidate; workers share one study
and a worker killed mid-study loses no trial."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import mlflow
import pytest
from ruamel.yaml import YAML
from tests.integration.test_retrain_gate import workspace  # noqa: F401

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.loop.card import stored_card

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
DATA = "demo://churn/reference?rows=4000"
SCHEMA = Path(__file__).resolve().parents[2] / "src/driftloop/card/model-card.schema.json"


def add_search(root: Path, n_trials: int, max_iter: int = 40, **ranges: dict[str, object]) -> None:
    path = root / "models/churn/model.yaml"
    yaml = YAML()
    spec = yaml.load(path.read_text())
    spec["estimator"]["params"] = {"max_iter": max_iter, "early_stopping": False,
                                   "random_state": 0}  # fmt: skip
    spec["estimator"]["search"] = {
        "n_trials": n_trials, "seed": 7,
        "params": ranges or {"learning_rate": {"low": 0.03, "high": 0.3, "log": True},
                             "max_leaf_nodes": {"low": 8, "high": 48, "integer": True}},
    }  # fmt: skip
    with path.open("w") as out:
        yaml.dump(spec, out)


def test_the_best_trial_is_registered_and_every_trial_is_a_child_run(
    workspace: Path,  # noqa: F811
) -> None:
    add_search(workspace, 5)
    assert main(["retrain", "--model", "churn", "--data", DATA, "--out", "c.json"]) == 0
    candidate = json.loads(Path("c.json").read_text())
    found = candidate["search"]
    assert found["complete"] >= 5
    assert found["metric"] == "roc_auc"
    client = mlflow.MlflowClient()
    run = client.get_run(candidate["run_id"])
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(children) == found["trials"]
    best = max((c for c in children if "roc_auc" in c.data.metrics),
               key=lambda c: c.data.metrics["roc_auc"])  # fmt: skip
    assert best.data.metrics["roc_auc"] == pytest.approx(found["best_value"])
    # the registered version was fitted with the best trial's parameters
    for name, value in found["best_params"].items():
        assert run.data.params[f"param.{name}"] == str(value) == best.data.params[name]
    assert run.data.params["search.trials"] == str(found["trials"])
    # the card says how the parameters were chosen
    card = stored_card(MlflowRegistry.from_environment(), "churn", candidate["version"])
    assert card is not None
    jsonschema.validate(card, json.loads(SCHEMA.read_text()))
    assert card["model_details"]["search"]["best_params"] == found["best_params"]
    assert card["model_details"]["parameters"]["learning_rate"] == str(
        found["best_params"]["learning_rate"]
    )
    # and is gated like any candidate
    code = main(["gate", "--model", "churn", "--candidate", "c.json", "--out", "g.json"])
    assert code in (0, 1)
    assert json.loads(Path("g.json").read_text())["candidate_version"] == candidate["version"]


def test_a_worker_killed_mid_study_loses_no_trial(workspace: Path) -> None:  # noqa: F811
    import optuna

    add_search(workspace, 10, max_iter=200)  # trials of a second or more: time to catch one
    storage = f"sqlite:///{workspace / 'study.db'}"
    env = {**os.environ, "DRIFTLOOP_STUDY_STORAGE": storage}
    retrain = subprocess.Popen(
        [str(BIN / "driftloop"), "retrain", "--model", "churn", "--data",
         "demo://churn/reference", "--workers", "2",
         "--out", "c.json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    from tests.conftest import _children

    killed = None
    try:
        deadline = time.monotonic() + 600
        while killed is None and time.monotonic() < deadline and retrain.poll() is None:
            workers = [pid for pid, name in _children(retrain.pid) if "python" in name]
            running = _trials(storage, optuna.trial.TrialState.RUNNING)
            # both busy: the worker is mid-trial when it dies
            if workers and len(running) >= 2 and _trials(storage, optuna.trial.TrialState.COMPLETE):
                os.kill(workers[0], signal.SIGKILL)
                killed = workers[0]
            time.sleep(0.05)
        _, err = retrain.communicate(timeout=900)
    finally:
        if retrain.poll() is None:
            retrain.kill()
            retrain.communicate()
    assert killed is not None, "the worker finished before it could be killed"
    assert retrain.returncode == 0, err[-2000:]
    complete = _trials(storage, optuna.trial.TrialState.COMPLETE)
    failed = _trials(storage, optuna.trial.TrialState.FAIL)
    assert len(complete) >= 10
    assert failed, "the killed worker's trial was not failed"
    for trial in failed:  # each lost trial ran again with the same parameters
        assert any(c.params == trial.params for c in complete)
    assert not _trials(storage, optuna.trial.TrialState.RUNNING)
    assert json.loads(Path("c.json").read_text())["search"]["workers"] == 2


def test_search_pods_join_one_study_and_a_lost_pods_trial_runs_again(
    workspace: Path,  # noqa: F811
) -> None:
    """The Argo fan-out: the train pod's retrain and two `retrain --search-worker` pods share
    one study by DRIFTLOOP_STUDY_NAME; one pod dies mid-trial (its node reclaimed): its trial
    goes stale, is failed and runs again, and the retrain waits for the live pod's trial."""
    import optuna

    add_search(workspace, 10, max_iter=200)
    storage = f"sqlite:///{workspace / 'study.db'}"
    env = {
        **os.environ,
        "DRIFTLOOP_STUDY_STORAGE": storage,
        "DRIFTLOOP_STUDY_NAME": "retrain-churn-x1",
    }
    data = ["--data", "demo://churn/reference"]
    pods = [subprocess.Popen([str(BIN / "driftloop"), "retrain", "--model", "churn", *data,
                              "--search-worker"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    retrain = subprocess.Popen(
        [str(BIN / "driftloop"), "retrain", "--model", "churn", *data, "--out", "c.json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and pods[0].poll() is None:
            if _trials(storage, optuna.trial.TrialState.RUNNING) and _trials(
                storage, optuna.trial.TrialState.COMPLETE
            ):
                pods[0].kill()  # mid-trial: it has one running, the study has completed some
                break
            time.sleep(0.05)
        _, err = retrain.communicate(timeout=900)
        # the retrain waited for the live pod's trial instead of failing it
        running_at_exit = _trials(storage, optuna.trial.TrialState.RUNNING)
        outputs = [pod.communicate(timeout=900) for pod in pods]
    finally:
        for process in (*pods, retrain):
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert pods[0].returncode == -signal.SIGKILL, "the pod finished before it could be killed"
    assert retrain.returncode == 0, err[-2000:]
    assert pods[1].returncode == 0, outputs[1][1][-2000:]
    assert optuna.study.get_all_study_names(storage) == ["retrain-churn-x1"]  # one study
    complete = _trials(storage, optuna.trial.TrialState.COMPLETE)
    assert len(complete) >= 10
    assert running_at_exit == []
    failed = _trials(storage, optuna.trial.TrialState.FAIL)
    assert len(failed) <= 1  # the lost pod's trial only: never a live pod's
    for trial in failed:
        assert any(c.params == trial.params for c in complete)  # ran again
    candidate = json.loads(Path("c.json").read_text())
    best = max(complete, key=lambda t: t.value)  # type: ignore[attr-defined]
    assert candidate["search"]["best_value"] == pytest.approx(best.value)  # type: ignore[attr-defined]


def test_a_search_worker_without_a_shared_study_is_exit_2(workspace: Path) -> None:  # noqa: F811
    add_search(workspace, 3)
    assert main(["retrain", "--model", "churn", "--data", DATA, "--search-worker"]) == 2
    assert main(["retrain", "--model", "churn", "--data", DATA]) == 2  # no --out


def _trials(storage: str, state: object) -> list[object]:
    import optuna

    try:
        names = optuna.study.get_all_study_names(storage)
    except Exception:  # not created yet
        return []
    if not names:
        return []
    study = optuna.load_study(study_name=names[0], storage=storage)
    return list(study.get_trials(deepcopy=False, states=(state,)))


@pytest.mark.parametrize(
    ("ranges", "key"),
    [({"learning_rate": {"low": 0.5, "high": 0.1}}, "estimator.search.params.learning_rate.low"),
     ({"learning_rate": {"low": 0, "high": 0.1, "log": True}},
      "estimator.search.params.learning_rate.low"),
     ({"max_leaf_nodes": {"choices": []}}, "estimator.search.params.max_leaf_nodes.choices"),
     ({"learning_rat": {"low": 0.1, "high": 0.2}}, "estimator.search.params.learning_rat")],
)  # fmt: skip
def test_a_bad_search_range_is_exit_two_naming_the_key(
    workspace: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    ranges: dict[str, dict[str, object]],
    key: str,
) -> None:
    add_search(workspace, 3, **ranges)
    assert main(["retrain", "--model", "churn", "--data", DATA, "--out", "c.json"]) == 2
    assert key in capsys.readouterr().err
    assert not Path("c.json").exists()
    assert main(["retrain", "--model", "taxi", "--workers", "0", "--out", "c.json"]) == 2


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # ask/tell stand in for pods
def test_the_train_pod_waits_for_a_live_pods_trial_and_fails_a_lost_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the train pod does once its own trials are done: a trial whose pod still beats
    is waited for (never failed, as a local worker's orphan is); one whose heartbeat went
    stale is failed and queued again."""
    import optuna

    from driftloop.config import load_model
    from driftloop.train import search

    # a short grace, but not shorter than SQLite's one-second clock: a beat just recorded
    # must not read as stale
    monkeypatch.setattr(search, "GRACE_SECONDS", 2)
    shutil.copytree(Path(__file__).resolve().parents[2] / "models", tmp_path / "models")
    add_search(tmp_path, 3)
    spec = load_model("churn", tmp_path / "models")
    study = search._study(spec, f"sqlite:///{tmp_path / 's.db'}", "shared")
    live, lost = study.ask(), study.ask()
    storage = study._storage
    storage.record_heartbeat(lost._trial_id)
    waited = time.monotonic() + 60
    while lost._trial_id not in storage._get_stale_trial_ids(study._study_id):
        assert time.monotonic() < waited, "the lost pod's heartbeat never went stale"
        time.sleep(0.2)
    storage.record_heartbeat(live._trial_id)
    search._settle(study, deadline=time.time() + 0.5)  # live still running at the deadline
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    assert states[live.number] == optuna.trial.TrialState.RUNNING
    assert states[lost.number] == optuna.trial.TrialState.FAIL
    assert len(states) == 3  # lost's parameters queued again
    study.tell(live, 0.5)
    search._settle(study, deadline=None)  # returns once nothing runs (the queued one waits)
    assert study.get_trials(deepcopy=False)[live.number].state == optuna.trial.TrialState.COMPLETE
