"""Enforcement where the model is served, against real MLflow on SQLite: with approval
required (the production manifests' setting) the server serves a registry version only when
a signed approval attestation verifies for exactly the bundle it loaded. Forged tags, a key
nobody trusts, another version's envelope, a changed artifact and a withdrawn approval are
all refused: the server exits 1 without listening, so a canary's pods never become ready.
`driftloop verify` gives the same verdict with exit codes 0/1/2/3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.approvals import key_folder, sign_approval
from tests.support.bundles import train_bundle
from tests.support.processes import free_port, stop, wait_for

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.registry import CandidateRun
from driftloop.cli.main import main

pytestmark = pytest.mark.integration
VERSIONS = 8


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("approval")
    registry = MlflowRegistry(f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")
    bundle = train_bundle("churn", root / "bundle", rows=2000)
    for _ in range(VERSIONS):
        registry.register_candidate(CandidateRun("churn", bundle, {}, {}, {}), "candidate")
    keys, attacker = key_folder(root / "keys"), key_folder(root / "attacker")
    return {"registry": registry, "root": root, "keys": keys, "attacker": attacker}


def sign(world: dict, version: str, *, key_dir: Path | None = None,
         for_version: str | None = None) -> str:  # type: ignore[type-arg]  # fmt: skip
    """Store an approval with ``version`` as promote does (of ``for_version`` if given),
    signed with the trusted key unless ``key_dir`` names another."""
    return sign_approval(world["registry"], "churn", version, key_dir or world["keys"],
                         for_version=for_version)  # fmt: skip


@pytest.fixture
def server(world: dict, tmp_path: Path) -> Iterator[object]:  # type: ignore[type-arg]
    started: list[subprocess.Popen[bytes]] = []
    registry: MlflowRegistry = world["registry"]

    def start(
        version: str, *extra: str, require: str = "true"
    ) -> tuple[subprocess.Popen[bytes], str, Path]:
        port, log = free_port(), tmp_path / f"serve-{version}.log"
        env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri,
               "DRIFTLOOP_REQUIRE_APPROVAL": require, "DRIFTLOOP_APPROVAL_KEYS": str(world["keys"])}  # fmt: skip
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


def refused(server, version: str, phrase: str) -> None:  # type: ignore[no-untyped-def]
    process, url, log = server(version, "--approval-wait", "0")
    assert process.wait(timeout=120) == 1, log.read_text()
    text = log.read_text()
    assert f"refusing to serve churn v{version}" in text
    assert phrase in text, text
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/readyz", timeout=2)


def test_no_attestation_waits_then_is_never_served(server) -> None:  # type: ignore[no-untyped-def]
    process, url, log = server("1", "--approval-wait", "3")
    wait_for_line(log, "waiting for the signed approval of churn v1", process)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/readyz", timeout=2)
    assert process.wait(timeout=120) == 1
    assert "has no approval attestation" in log.read_text()


def test_forged_approval_tags_are_not_an_approval(server, world) -> None:  # type: ignore[no-untyped-def]
    """Before signatures, these three tags made the server serve (the hole of #18.4)."""
    world["registry"].set_version_tags("churn", "2", {
        "approved_by": "dave", "pr_url": "https://github.invalid/acme/models/pull/7", "head_sha": "a" * 40,
        "promotion": "reviewed",
    })  # fmt: skip
    refused(server, "2", "has no approval attestation")


def test_an_envelope_signed_by_an_unknown_key_is_refused(server, world) -> None:  # type: ignore[no-untyped-def]
    """What a hostile train.py can do with the retrain job's MLflow token: tag the version and
    sign an approval with a key of its own. No trusted key verifies it."""
    sign(world, "3", key_dir=world["attacker"])
    refused(server, "3", "no signature verifies with a trusted key")


def test_another_versions_envelope_is_refused(server, world) -> None:  # type: ignore[no-untyped-def]
    sign(world, "4", for_version="5")  # v5's genuine approval, pointed at from v4
    refused(server, "4", "not models:/churn/4")


def test_a_changed_artifact_is_refused(server, world) -> None:  # type: ignore[no-untyped-def]
    registry: MlflowRegistry = world["registry"]
    sign(world, "6")
    run = registry.client.get_model_version("churn", "6").run_id
    stored = next((world["root"] / "artifacts").rglob(f"{run}/artifacts/model/profile.json"))
    stored.write_text(stored.read_text().replace("monthly_charges", "monthly_chargez", 1))
    refused(server, "6", "the bundle changed after approval")


def test_a_withdrawn_approval_is_refused(server, world) -> None:  # type: ignore[no-untyped-def]
    sign(world, "7")
    assert (
        main(["promote", "--withdraw", "canary aborted", "--model", "churn", "--version", "7"]) == 0
    )
    refused(server, "7", "the approval was withdrawn: canary aborted")


def test_a_signed_approval_stored_during_the_wait_lets_it_serve(server, world) -> None:  # type: ignore[no-untyped-def]
    process, url, log = server("8", "--approval-wait", "300")
    wait_for_line(log, "waiting for the signed approval of churn v8", process)
    sign(world, "8")
    wait_for(f"{url}/readyz", process, timeout=120)
    assert httpx.get(f"{url}/readyz").json()["version"] == "8"
    assert "approved by dave" in log.read_text()


@pytest.mark.parametrize("value", ["on", "true ", "TRUE", "1"])
def test_any_value_that_means_on_requires_approval(server, value: str) -> None:  # type: ignore[no-untyped-def]
    """#23.3: 'on' and 'true ' used to serve an unapproved version."""
    process, _, log = server("1", "--approval-wait", "0", require=value)
    assert process.wait(timeout=120) == 1, log.read_text()
    assert "refusing to serve churn v1" in log.read_text()


def test_an_unclear_value_stops_the_server(server) -> None:  # type: ignore[no-untyped-def]
    process, _, log = server("1", require="maybe")
    assert process.wait(timeout=120) == 2
    assert "DRIFTLOOP_REQUIRE_APPROVAL='maybe'" in log.read_text()


def test_staging_opts_out(server) -> None:  # type: ignore[no-untyped-def]
    process, url, _ = server("1", "--no-require-approval")
    wait_for(f"{url}/readyz", process, timeout=120)
    assert httpx.get(f"{url}/readyz").json()["version"] == "1"


# ---- driftloop verify ----------------------------------------------------------------------


def verify(
    world, version: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> tuple[int, dict]:  # type: ignore[no-untyped-def,type-arg]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", world["registry"].tracking_uri)
    capsys.readouterr()
    code = main(["verify", "--model-uri", f"models:/churn/{version}", "--approval-keys",
                 str(world["keys"]), "--json"])  # fmt: skip
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_verify_names_the_facts_of_a_valid_approval(world, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sign(world, "8")
    code, result = verify(world, "8", capsys, monkeypatch)
    assert code == 0, result
    assert result["verified"] is True
    assert (result["model"], result["version"], result["approved_by"]) == ("churn", "8", "dave")
    assert result["pr_url"].endswith("/pull/7")
    assert result["merge_commit"] == "b" * 40
    assert result["key_id"] == next(world["keys"].glob("*.pub")).stem
    assert len(result["digest"]) == 64


def test_verify_refuses_with_reasons_and_exit_1(world, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sign(world, "3", key_dir=world["attacker"])
    code, result = verify(world, "3", capsys, monkeypatch)
    assert (code, result["verified"]) == (1, False)
    assert "no signature verifies with a trusted key" in result["reasons"][0]


def test_verify_exit_codes_for_usage_and_an_unreachable_mlflow(world, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(
            ["verify", "--model-uri", "/not/a/registry/uri", "--approval-keys", str(world["keys"])]
        )
        == 2
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    assert (
        main(["verify", "--model-uri", "models:/churn/1", "--approval-keys", str(world["keys"])])
        == 3
    )
