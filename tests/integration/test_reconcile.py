"""The abort path (ADR 0007): promote moved `champion` to v2 at merge; Argo Rollouts then
aborted the v2 canary and production serves v1 again. `driftloop reconcile`, on a real
Prometheus holding what Kubernetes would report and a real MLflow registry, leaves the alias
alone while the canary runs, moves it back to v1 once the Rollout is Degraded and only v1
serves, and tags both versions: the promotion's record stays and the abort is added."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.approvals import key_folder, sign_approval
from tests.support.bundles import ROOT, train_bundle
from tests.support.history import Series, backfill
from tests.support.processes import prometheus

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.registry import CandidateRun
from driftloop.loop.reconcile import Production, plan

pytestmark = pytest.mark.integration
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
ABORT = T0 + timedelta(minutes=10)
END = T0 + timedelta(minutes=30)


def series() -> list[Series]:
    def points(start: datetime, end: datetime, value: float) -> list[tuple[int, float]]:
        count = int((end - start).total_seconds()) // 15 + 1
        return [(int(start.timestamp()) + 15 * i, value) for i in range(count)]

    pod = {"namespace": "driftloop", "model": "churn"}
    rollout = {"namespace": "driftloop", "name": "model-server-churn", "strategy": "canary",
               "traffic_router": ""}  # fmt: skip
    return [
        Series("driftloop_reference_rows", {**pod, "version": "1"}, points(T0, END, 8000)),
        # the v2 canary's pods: up from minute 2, gone at the abort
        Series(
            "driftloop_reference_rows",
            {**pod, "version": "2"},
            points(T0 + timedelta(minutes=2), ABORT, 8000),
        ),
        Series("rollout_info", {**rollout, "phase": "Progressing"}, points(T0, ABORT, 1)),
        Series(
            "rollout_info",
            {**rollout, "phase": "Degraded"},
            points(ABORT + timedelta(seconds=15), END, 1),
        ),
        # staging's own copy of the model, aborted too, must not count for production
        Series(
            "rollout_info",
            {**rollout, "namespace": "driftloop-staging", "phase": "Degraded"},
            points(T0, END, 1),
        ),
    ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, MlflowRegistry, Path]]:
    root = tmp_path_factory.mktemp("reconcile")
    registry = MlflowRegistry(f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")
    bundle = train_bundle("churn", root / "bundle", rows=2000)
    for _ in range(3):
        registry.register_candidate(CandidateRun("churn", bundle, {}, {}, {}), "candidate")
    # what `driftloop promote` signed at the merges of v1's and v2's pull requests (v3 was
    # registered by a retrain and never approved)
    keys = key_folder(root / "keys")
    for version, pull in (("1", 3), ("2", 7)):
        sign_approval(registry, "churn", version, keys, approver="alice", pull=pull)
    registry.set_alias("churn", "champion", "2")
    backfill(series(), root / "tsdb")
    with prometheus(root / "prometheus", [], [], tsdb=root / "tsdb") as url:
        yield url, registry, keys


Stack = tuple[str, MlflowRegistry, Path]


def reconcile(stack: Stack, at: datetime) -> dict:  # type: ignore[type-arg]
    url, registry, keys = stack
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri}
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "reconcile", "--prometheus", url,
         "--models", str(ROOT / "models"), "--model", "churn", "--at", at.isoformat(), "--json",
         "--approval-keys", str(keys)],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_abort_path(stack: Stack) -> None:
    _, registry, _ = stack
    during = reconcile(stack, T0 + timedelta(minutes=6))  # the canary runs: both serve
    assert during["action"] == "none"
    assert registry.alias_version("churn", "champion") == "2"

    after = reconcile(stack, ABORT + timedelta(minutes=8))  # aborted; v2's pods long gone
    assert after["action"] == "restored", after
    assert registry.alias_version("churn", "champion") == "1"
    aborted, restored = registry.version_tags("churn", "2"), registry.version_tags("churn", "1")
    assert aborted["approved_by"] == "alice"  # the promotion's record stays...
    assert aborted["rollout"] == "aborted"  # ...and the abort is added
    assert aborted["replaced_by"] == "1"
    assert aborted["approval_withdrawn"].startswith("canary aborted")  # servers refuse it now
    assert restored["restored_from"] == "2"
    assert restored["champion_restored_at"] == aborted["aborted_at"]

    again = reconcile(stack, END)  # nothing left to do: production serves the champion
    assert again["action"] == "none"
    assert registry.alias_version("churn", "champion") == "1"


def test_the_plan_moves_only_on_an_abort_with_one_version_serving() -> None:
    def served(*versions: str, aborted: bool) -> Production:
        return Production(frozenset(versions), aborted)

    assert plan("m", "2", served("1", "2", aborted=False)).action == "none"  # a canary
    assert plan("m", "2", served("1", aborted=False)).action == "none"  # not yet rolled out
    assert plan("m", "2", served("1", "2", aborted=True)).action == "none"  # pods still up
    assert plan("m", "2", served(aborted=True)).action == "none"  # no telemetry: unknown
    assert plan("m", "2", served("2", aborted=True)).action == "none"  # serves the champion
    assert plan("m", None, served("1", aborted=True)).action == "none"
    moved = plan("m", "2", served("1", aborted=True))
    assert (moved.action, moved.champion) == ("restored", "1")


@pytest.mark.parametrize("forged", ["nothing", "tags and a self-signed envelope"])
def test_forged_telemetry_cannot_make_an_unapproved_version_champion(
    stack: Stack, tmp_path: Path, forged: str
) -> None:
    """A series pushed to Prometheus claiming that never-approved v3 alone serves, and a
    Degraded Rollout: production pods cannot serve v3 (ADR 0005), so champion stays. Tags
    and an envelope signed with the forger's own key (what anyone with the MLflow token, or a
    hostile train.py, can write) change nothing."""
    from driftloop.loop.reconcile import reconcile as run
    from driftloop.serve.approval import verify_version

    _, registry, keys = stack
    if forged != "nothing":
        sign_approval(registry, "churn", "3", key_folder(tmp_path / "forger"))
    champion = registry.alias_version("churn", "champion")

    class Forged:
        def production(self, models: list[str], at: datetime, namespace: str
                       ) -> dict[str, Production]:  # fmt: skip
            return {"churn": Production(frozenset({"3"}), aborted=True)}

    def verify(model: str, version: str):  # type: ignore[no-untyped-def]
        return verify_version(registry, f"models:/{model}/{version}", keys)

    [result] = run(["churn"], Forged(), registry, END, verify=verify)
    assert result.action == "none"
    assert "v3, whose signed approval does not verify" in result.reasons[0]
    assert registry.alias_version("churn", "champion") == champion
    assert "champion_restored_at" not in registry.version_tags("churn", "3")
