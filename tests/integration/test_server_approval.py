"""Enforcement where the model is served, against real MLflow on SQLite: with approval
required (the production manifests' setting) the server never starts serving a registry
version that lacks the record `promote` writes, and exits 1 after its bounded wait, so the
canary's pods never become ready and the Rollout aborts; a record that lands during the wait
(promote runs on the merge push) lets it start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.bundles import train_bundle
from tests.support.processes import free_port, stop, wait_for

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.registry import CandidateRun

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> MlflowRegistry:
    root = tmp_path_factory.mktemp("approval")
    registry = MlflowRegistry(f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")
    bundle = train_bundle("churn", root / "bundle", rows=2000)
    for _ in range(2):
        registry.register_candidate(CandidateRun("churn", bundle, {}, {}, {}), "challenger")
    return registry


@pytest.fixture
def server(registry: MlflowRegistry, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(version: str, *extra: str) -> tuple[subprocess.Popen[bytes], str, Path]:
        port, log = free_port(), tmp_path / f"serve-{version}.log"
        env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri,
               "DRIFTLOOP_REQUIRE_APPROVAL": "true"}  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "driftloop.cli.main", "serve", "--model-uri",
                 f"models:/churn/{version}", "--port", str(port), "--approval-poll", "0.3", *extra],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        started.append(process)
        return process, f"http://127.0.0.1:{port}", log

    yield start
    for process in started:
        stop(process)


def wait_for_line(
    log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {log}:\n{log.read_text(errors='replace')[-2000:]}")


def test_a_version_without_an_approval_record_is_never_served(server) -> None:  # type: ignore[no-untyped-def]
    process, url, log = server("1", "--approval-wait", "3")
    wait_for_line(log, "waiting for the approval record of churn v1", process)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/readyz", timeout=2)
    assert process.wait(timeout=120) == 1
    text = log.read_text()
    assert "refusing to serve churn v1" in text
    assert "missing tags approved_by, pr_url, head_sha" in text


def test_the_record_promote_writes_during_the_wait_lets_it_serve(  # type: ignore[no-untyped-def]
    server, registry: MlflowRegistry
) -> None:
    process, url, log = server("2", "--approval-wait", "300")
    wait_for_line(log, "waiting for the approval record of churn v2", process)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/readyz", timeout=2)
    registry.set_version_tags("churn", "2", {"approved_by": "dave"})  # half a record: not enough
    time.sleep(1.0)
    assert process.poll() is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/readyz", timeout=2)
    registry.set_version_tags(
        "churn", "2", {"pr_url": "https://github.invalid/acme/models/pull/7", "head_sha": "a" * 40}
    )
    wait_for(f"{url}/readyz", process, timeout=120)
    assert httpx.get(f"{url}/readyz").json()["version"] == "2"
    assert "churn v2 approved by dave" in log.read_text()


def test_staging_opts_out(server) -> None:  # type: ignore[no-untyped-def]
    process, url, _ = server("1", "--no-require-approval")
    wait_for(f"{url}/readyz", process, timeout=120)
    assert httpx.get(f"{url}/readyz").json()["version"] == "1"
