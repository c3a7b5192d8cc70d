"""The GitOps repository: builds, the version-bump contract, and the one validation script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from driftloop.generate.manifests import MODEL_LABEL, stale
from driftloop.gitops.images import IMAGE, pinned_digest
from driftloop.gitops.overlay import pins, set_version

ROOT = Path(__file__).resolve().parents[2]


def build(path: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    out = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def copy_repo(target: Path) -> None:
    for part in ("k8s", "policies", "models"):  # k8s/base carries policies/ and models/
        shutil.copytree(ROOT / part, target / part)


MODELS = sorted(p.parent.name for p in (ROOT / "models").glob("*/model.yaml"))


@pytest.mark.parametrize("model", MODELS)
def test_version_bump_changes_only_that_models_pod_template(tmp_path: Path, model: str) -> None:
    copy_repo(tmp_path)
    overlay = tmp_path / "k8s/overlays/production"
    before = build(overlay)
    text = (overlay / "kustomization.yaml").read_text()
    (overlay / "kustomization.yaml").write_text(set_version(text, model, "2"))
    after = build(overlay)

    prefix = f"model-version-{model}-"
    old_cm = [k for k in before if k[0] == "ConfigMap" and k[1].startswith(prefix)]
    new_cm = [k for k in after if k[0] == "ConfigMap" and k[1].startswith(prefix)]
    assert len(old_cm) == len(new_cm) == 1
    assert old_cm != new_cm  # a new hashed name: the content changed
    assert after[new_cm[0]]["data"] == {"MODEL_URI": f"models:/{model}/2"}

    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert changed == {("Rollout", f"model-server-{model}")}  # the other model: no canary
    rollout_before, rollout_after = (
        before[("Rollout", f"model-server-{model}")],
        after[("Rollout", f"model-server-{model}")],
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


def test_a_policy_change_restarts_only_the_drift_check(tmp_path: Path) -> None:
    """policies/ reach the CronJob as a ConfigMap it mounts: changing a threshold is a
    reviewed pull request that changes the CronJob's pod template and nothing that serves."""
    copy_repo(tmp_path)
    overlay = tmp_path / "k8s/overlays/production"
    before = build(overlay)
    policy = tmp_path / "policies/drift.yaml"
    policy.write_text(policy.read_text().replace("critical: 0.25", "critical: 0.3"))
    after = build(overlay)
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert changed == {("CronJob", "drift-check")}
    configs = {k[1].rsplit("-", 1)[0] for k in set(after) - set(before)}
    assert configs == {"driftloop-policies"}
    job = after[("CronJob", "drift-check")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    mounted = {v["configMap"]["name"] for v in job["volumes"] if "configMap" in v}
    assert any(name.startswith("driftloop-policies-") for name in mounted - {k[1] for k in before})
    assert "--policy" in job["containers"][0]["command"]


def test_overlays_differ_only_where_they_should() -> None:
    staging = build(ROOT / "k8s/overlays/staging")
    production = build(ROOT / "k8s/overlays/production")
    for model in MODELS:
        assert staging[("Rollout", f"model-server-{model}")]["spec"]["replicas"] == 1
        assert production[("Rollout", f"model-server-{model}")]["spec"]["replicas"] == 4
    for docs, namespace in ((staging, "driftloop-staging"), (production, "driftloop")):
        for (kind, _), doc in docs.items():
            if kind != "Namespace":
                assert doc["metadata"]["namespace"] == namespace
    assert ("Namespace", "driftloop-staging") in staging
    steps = production[("Rollout", "model-server-churn")]["spec"]["strategy"]["canary"]["steps"]
    assert [next(iter(s)) for s in steps] == [
        "setWeight",
        "pause",
        "analysis",  # prediction drift
        "analysis",  # golden-set quality against the stable
        "setWeight",
        "pause",
        "analysis",
        "setWeight",
    ]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [10, 50, 100]
    templates = [s["analysis"]["templates"][0]["templateName"] for s in steps if "analysis" in s]
    assert templates == [
        "canary-prediction-drift", "canary-golden-quality", "canary-prediction-drift"
    ]  # fmt: skip
    # the overlays shorten the pauses by index: they must still point at pauses
    short = staging[("Rollout", "model-server-churn")]["spec"]["strategy"]["canary"]["steps"]
    assert [s["pause"]["duration"] for s in short if "pause" in s] == ["2m", "2m"]


def _server_config(docs: dict) -> dict[str, str]:  # type: ignore[type-arg]
    rollout = docs[("Rollout", "model-server-churn")]
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
    spec = production[("Rollout", "model-server-churn")]["spec"]
    probe = spec["template"]["spec"]["containers"][0]["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] > wait + 60
    assert spec["progressDeadlineAbort"] is True
    assert spec["progressDeadlineSeconds"] > wait
    assert (
        _server_config(build(ROOT / "k8s/overlays/staging"))["DRIFTLOOP_REQUIRE_APPROVAL"]
        == "false"
    )


def test_every_workload_runs_the_one_image_pinned_by_digest_in_the_base() -> None:
    docs = build(ROOT / "k8s/overlays/production")
    base = (ROOT / "k8s/base/kustomization.yaml").read_text()
    digest = pinned_digest(base)
    assert digest is not None
    pods = [doc["spec"]["template"]["spec"] for (kind, _), doc in docs.items() if kind == "Rollout"]
    pods += [job_pod(docs, name) for name in CRONJOBS]
    images = {c["image"] for pod in pods for c in pod["containers"]}
    assert images == {f"{IMAGE}@{digest}"}


def test_workloads_run_non_root_with_read_only_root_filesystem() -> None:
    docs = build(ROOT / "k8s/overlays/production")
    pods = [doc["spec"]["template"]["spec"] for (kind, _), doc in docs.items() if kind == "Rollout"]
    pods += [job_pod(docs, name) for name in CRONJOBS]
    assert len(pods) == len(MODELS) + len(CRONJOBS)
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
    assert docs[("CronJob", "champion-reconcile")]["spec"]["concurrencyPolicy"] == "Forbid"


CRONJOBS = ("drift-check", "champion-reconcile")


def job_pod(docs: dict, name: str) -> dict:  # type: ignore[type-arg]
    return docs[("CronJob", name)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_the_champion_is_reconciled_in_production_only_and_reaches_no_github() -> None:
    """ADR 0007: the aborted canary's champion is moved back by a CronJob of production's;
    staging never moves production's alias. It reads Prometheus and writes MLflow only."""
    production = build(ROOT / "k8s/overlays/production")
    staging = build(ROOT / "k8s/overlays/staging")
    assert ("CronJob", "champion-reconcile") not in staging
    pod = job_pod(production, "champion-reconcile")
    command = pod["containers"][0]["command"]
    assert command[:2] == ["driftloop", "reconcile"]
    assert command[command.index("--namespace") + 1] == "driftloop"
    assert "volumes" in pod
    assert not any("secret" in v for v in pod["volumes"])  # no GitHub credentials
    config_name = pod["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    config = production[("ConfigMap", config_name)]["data"]
    assert set(config) == {
        "DRIFTLOOP_PROMETHEUS_URL", "MLFLOW_TRACKING_URI", "DRIFTLOOP_APPROVAL_KEYS"
    }  # fmt: skip
    # it restores only versions whose signed approval verifies: the keys are mounted there
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    keys = next(v for v in pod["volumes"] if v["name"] == mounts[config["DRIFTLOOP_APPROVAL_KEYS"]])
    assert keys["configMap"]["name"].startswith("driftloop-approval-keys-")
    policy = production[("NetworkPolicy", "champion-reconcile")]["spec"]
    ports = {p["port"] for rule in policy["egress"] for p in rule.get("ports", [])}
    assert ports == {9090, 5000, 53}
    assert all("to" in rule for rule in policy["egress"])  # no open egress (443 to anywhere)


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_every_model_is_served_on_its_own_and_every_pin_has_a_model(overlay: str) -> None:
    """Adding a model is its folder and its pin: each gets a Rollout, Services, a PDB and a
    version of its own; a pin without a model, or a model without a pin, fails here."""
    docs = build(ROOT / f"k8s/overlays/{overlay}")
    assert MODELS == ["churn", "taxi", "tickets"]
    rollouts = {name.removeprefix("model-server-") for kind, name in docs if kind == "Rollout"}
    assert rollouts == set(MODELS)
    pinned = pins((ROOT / f"k8s/overlays/{overlay}/kustomization.yaml").read_text())
    assert set(pinned) == set(MODELS)
    for model in MODELS:
        rollout = docs[("Rollout", f"model-server-{model}")]
        selector = rollout["spec"]["selector"]["matchLabels"]
        assert selector[MODEL_LABEL] == model
        canary = rollout["spec"]["strategy"]["canary"]
        for service in (canary["canaryService"], canary["stableService"], f"model-server-{model}"):
            assert docs[("Service", service)]["spec"]["selector"][MODEL_LABEL] == model
        assert (
            docs[("PodDisruptionBudget", f"model-server-{model}")]["spec"]["selector"][
                "matchLabels"
            ][MODEL_LABEL]
            == model
        )
        env = rollout["spec"]["template"]["spec"]["containers"][0]["env"][0]
        config = docs[("ConfigMap", env["valueFrom"]["configMapKeyRef"]["name"])]
        assert config["data"]["MODEL_URI"].startswith(f"models:/{model}")


def test_generated_manifests_are_up_to_date() -> None:
    assert stale(ROOT) == []


def test_argocd_project_allows_every_kind_the_overlays_build(tmp_path: Path) -> None:
    project = yaml.safe_load((ROOT / "k8s/argocd/project.yaml").read_text())["spec"]
    allowed = {(k["group"], k["kind"]) for k in project["namespaceResourceWhitelist"]}
    allowed |= {(k["group"], k["kind"]) for k in project["clusterResourceWhitelist"]}
    copy_repo(tmp_path)
    shadow = tmp_path / "k8s/overlays/production-shadow"
    shadow.mkdir()
    (shadow / "kustomization.yaml").write_text(
        "resources: [../production]\ncomponents: [../../components/istio-shadow]\n"
    )
    for overlay in (ROOT / "k8s/overlays/staging", ROOT / "k8s/overlays/production", shadow):
        for doc in build(overlay).values():
            group = doc["apiVersion"].rpartition("/")[0]
            assert (group, doc["kind"]) in allowed, (overlay.name, doc["kind"])
    with_shadow = build(shadow)
    for model in MODELS:
        routing = with_shadow[("Rollout", f"model-server-{model}")]["spec"]["strategy"]["canary"]
        assert (
            routing["trafficRouting"]["istio"]["virtualService"]["name"] == f"model-server-{model}"
        )
        assert ("VirtualService", f"model-server-{model}") in with_shadow


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


def test_live_quality_runs_after_the_fifty_percent_pause_only_where_labels_come_fast() -> None:
    """gates.yaml `canary_feedback` (taxi: a trip's duration is known when it ends) adds
    canary-live-quality to the analysis after the 50% pause, with every argument the template
    needs; churn, whose labels take a month, gets none (it would pause every rollout)."""
    from driftloop.generate.manifests import LIVE_QUALITY_STEP

    docs = build(ROOT / "k8s/overlays/production")
    templates = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((ROOT / "k8s/base/analysis-templates.yaml").read_text())
        if d
    }
    for model, expected in (("taxi", True), ("churn", False)):
        steps = docs[("Rollout", f"model-server-{model}")]["spec"]["strategy"]["canary"]["steps"]
        assert steps[LIVE_QUALITY_STEP - 2] == {"setWeight": 50}
        assert "pause" in steps[LIVE_QUALITY_STEP - 1]
        step = steps[LIVE_QUALITY_STEP]["analysis"]
        names = [t["templateName"] for t in step["templates"]]
        assert ("canary-live-quality" in names) is expected, model
        given = {a["name"] for a in step["args"]}
        for name in names:  # Argo refuses a step missing an argument without a default
            needed = {a["name"] for a in templates[name]["spec"]["args"] if "value" not in a}
            assert needed <= given, (model, name)
    taxi = docs[("Rollout", "model-server-taxi")]["spec"]["strategy"]["canary"]["steps"]
    args = {a["name"]: a.get("value") for a in taxi[LIVE_QUALITY_STEP]["analysis"]["args"]}
    assert args["min-labels"] == "500"
    assert args["max-increase"] == "0.1"
