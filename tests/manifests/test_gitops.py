"""The GitOps repository: builds, the version-bump contract, and the one validation script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def build(path: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    out = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def bump(kustomization: Path, uri: str) -> None:
    text = kustomization.read_text()
    assert "MODEL_URI=models:/churn/1" in text
    kustomization.write_text(text.replace("MODEL_URI=models:/churn/1", f"MODEL_URI={uri}"))


def test_version_bump_changes_only_the_model_server_pod_template(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "k8s", tmp_path / "k8s")
    overlay = tmp_path / "k8s/overlays/production"
    before = build(overlay)
    bump(overlay / "kustomization.yaml", "models:/churn/2")
    after = build(overlay)

    old_cm = [k for k in before if k[0] == "ConfigMap" and k[1].startswith("model-version-")]
    new_cm = [k for k in after if k[0] == "ConfigMap" and k[1].startswith("model-version-")]
    assert len(old_cm) == len(new_cm) == 1
    assert old_cm != new_cm  # a new hashed name: the content changed
    assert after[new_cm[0]]["data"] == {"MODEL_URI": "models:/churn/2"}

    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert changed == {("Rollout", "model-server")}
    rollout_before, rollout_after = (
        before[("Rollout", "model-server")],
        after[("Rollout", "model-server")],
    )
    # outside the pod template nothing moved; inside it only the ConfigMap reference did
    assert {k: v for k, v in rollout_before["spec"].items() if k != "template"} == {
        k: v for k, v in rollout_after["spec"].items() if k != "template"
    }
    env = rollout_after["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["configMapKeyRef"]["name"] == new_cm[0][1]
    # the other generated ConfigMaps (server config, check config) keep their names
    assert {k for k in before if k[0] == "ConfigMap"} - set(old_cm) == {
        k for k in after if k[0] == "ConfigMap"
    } - set(new_cm)


def test_overlays_differ_only_where_they_should() -> None:
    staging = build(ROOT / "k8s/overlays/staging")
    production = build(ROOT / "k8s/overlays/production")
    assert staging[("Rollout", "model-server")]["spec"]["replicas"] == 1
    assert production[("Rollout", "model-server")]["spec"]["replicas"] == 4
    for docs, namespace in ((staging, "driftloop-staging"), (production, "driftloop")):
        for (kind, _), doc in docs.items():
            if kind != "Namespace":
                assert doc["metadata"]["namespace"] == namespace
    assert ("Namespace", "driftloop-staging") in staging
    steps = production[("Rollout", "model-server")]["spec"]["strategy"]["canary"]["steps"]
    assert [next(iter(s)) for s in steps] == [
        "setWeight",
        "pause",
        "analysis",
        "setWeight",
        "pause",
        "analysis",
        "setWeight",
    ]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [10, 50, 100]


def _server_config(docs: dict) -> dict[str, str]:  # type: ignore[type-arg]
    rollout = docs[("Rollout", "model-server")]
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    name = container["envFrom"][0]["configMapRef"]["name"]
    return docs[("ConfigMap", name)]["data"]  # type: ignore[no-any-return]


def test_production_serves_only_approved_versions_and_aborts_otherwise() -> None:
    """The server waits for the approval record and then exits 1 (ADR 0005): production
    requires it, the pod's startup budget covers the wait, and canary pods that never become
    ready abort the rollout. Staging tries unreviewed candidates, so it opts out."""
    production = build(ROOT / "k8s/overlays/production")
    config = _server_config(production)
    assert config["DRIFTLOOP_REQUIRE_APPROVAL"] == "true"
    wait = float(config["DRIFTLOOP_APPROVAL_WAIT_SECONDS"])
    spec = production[("Rollout", "model-server")]["spec"]
    probe = spec["template"]["spec"]["containers"][0]["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] > wait + 60
    assert spec["progressDeadlineAbort"] is True
    assert spec["progressDeadlineSeconds"] > wait
    assert (
        _server_config(build(ROOT / "k8s/overlays/staging"))["DRIFTLOOP_REQUIRE_APPROVAL"]
        == "false"
    )


def test_workloads_run_non_root_with_read_only_root_filesystem() -> None:
    docs = build(ROOT / "k8s/overlays/production")
    pods = [docs[("Rollout", "model-server")]["spec"]["template"]["spec"],
            docs[("CronJob", "drift-check")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]]  # fmt: skip
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert "limits" in container["resources"]
    cron = docs[("CronJob", "drift-check")]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["schedule"] == "*/5 * * * *"


@pytest.mark.slow
def test_validate_script_passes() -> None:
    """The single validation entry point, checkov included (its venv is made on first run)."""
    result = subprocess.run(
        ["bash", "scripts/validate.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for step in (
        "kustomize builds",
        "promtool check rules",
        "zizmor --offline",
        "GitHub workflow schema",
        "checkov",
    ):
        assert f"ok: {step}" in result.stdout
