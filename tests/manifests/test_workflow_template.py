"""The retrain WorkflowTemplate of a model on Argo, as the production overlay builds it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.support.argo_server import FakeArgo, argo_server

from driftloop.adapters.argo import ArgoServer
from driftloop.config import load_model
from driftloop.generate.manifests import main as write_manifests
from driftloop.generate.manifests import stale
from driftloop.gitops.images import set_image_digest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared/schemas/argoproj.io/workflowtemplate_v1alpha1.json"
DIGEST = "sha256:" + "ab" * 32


def build(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """The production overlay, its image pinned as a release pins it, and churn moved to argo
    with GPU spot settings (taxi is on argo in the repository; tickets stays on GitHub)."""
    repo = tmp_path_factory.mktemp("repo")
    for part in ("k8s", "policies", "models"):
        shutil.copytree(ROOT / part, repo / part)
    spec = repo / "models/churn/model.yaml"
    data = yaml.safe_load(spec.read_text())
    data["estimator"]["search"] = {
        "n_trials": 30,
        "params": {"learning_rate": {"low": 0.03, "high": 0.3, "log": True}},
    }
    data["retrain"] = yaml.safe_load(
        "{executor: argo, timeout: 90m, retries: 4, workers: 3,"
        " resources: {requests: {cpu: '4', nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 1}},"
        " node_selector: {cloud.google.com/gke-spot: 'true'},"
        " tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]}"
    )
    spec.write_text(yaml.safe_dump(data, sort_keys=False))  # fmt: skip
    assert write_manifests([str(repo)]) == 0
    base = repo / "k8s/base/kustomization.yaml"
    base.write_text(set_image_digest(base.read_text(), DIGEST))
    return build(repo / "k8s/overlays/production")


def templates(built: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k[1]: v for k, v in built.items() if k[0] == "WorkflowTemplate"}


def steps(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template["spec"]["templates"]}


def test_only_models_on_argo_get_a_template_and_each_validates(built: dict) -> None:  # type: ignore[type-arg]
    found = templates(built)
    assert sorted(found) == ["retrain-churn", "retrain-taxi"]
    schema = json.loads(SCHEMA.read_text())
    for template in found.values():
        jsonschema.validate(template, schema)


def test_the_template_runs_the_released_image_as_retrain_yml_runs_its_jobs(built: dict) -> None:  # type: ignore[type-arg]
    template = templates(built)["retrain-churn"]
    spec = template["spec"]
    order = [step[0]["name"] for step in steps(template)["retrain"]["steps"]]
    assert order == ["checkout", "train", "gate", "propose"]
    order.append("search-worker")
    configs = {k[1] for k in built if k[0] == "ConfigMap"}
    for name in order:
        container = steps(template)[name]["container"]
        assert container["image"] == f"ghcr.io/driftloop/driftloop-server@{DIGEST}"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        # MLflow in every step, through the hashed ConfigMap the base generates
        source = container["envFrom"][0]["configMapRef"]["name"]
        assert source in configs
        assert source.startswith("retrain-config-")
        assert {"name": "driftloop-mlflow", "optional": True} in [
            e.get("secretRef") for e in container["envFrom"]
        ]
        mounts = {m["name"] for m in container["volumeMounts"]}
        # the GitHub App's key only where the pull request is opened
        assert ("github-app" in mounts) == (name == "propose")
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]
               for name in ("train", "search-worker")
               for e in steps(template)[name]["container"]["env"] if "valueFrom" in e}  # fmt: skip
    assert secrets == {"DRIFTLOOP_STUDY_STORAGE": {"name": "driftloop-study-storage", "key": "url"}}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    assert spec["activeDeadlineSeconds"] == 90 * 60
    assert spec["synchronization"] == {"mutexes": [{"name": "retrain-churn"}]}
    assert spec["podGC"]["strategy"] == "OnPodSuccess"
    assert spec["ttlStrategy"]["secondsAfterCompletion"] >= 31 * 24 * 3600  # a monthly period
    checkout = steps(template)["checkout"]["inputs"]["artifacts"][0]
    assert checkout["git"]["repo"] == "https://github.com/driftloop/driftloop.git"
    assert checkout["path"].startswith("/work/")  # on the volume every step mounts


def test_the_training_step_gets_the_models_resources_placement_and_retries(built: dict) -> None:  # type: ignore[type-arg]
    churn = steps(templates(built)["retrain-churn"])
    train = churn["train"]
    assert train["container"]["resources"] == {
        "requests": {"cpu": "4", "nvidia.com/gpu": "1"},
        "limits": {"nvidia.com/gpu": "1"},
    }
    assert train["nodeSelector"] == {"cloud.google.com/gke-spot": "true"}
    assert train["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert train["retryStrategy"]["limit"] == 4
    assert train["retryStrategy"]["retryPolicy"] == "OnError"
    assert "nodeSelector" not in churn["gate"]  # a GPU node is not held for the gate
    taxi = steps(templates(built)["retrain-taxi"])["train"]
    spec = load_model("taxi", ROOT / "models").retrain
    assert taxi["container"]["resources"]["requests"] == spec.resources.requests
    assert "tolerations" not in taxi


def test_a_search_fans_out_to_pods_beside_the_training_step(built: dict) -> None:  # type: ignore[type-arg]
    churn = steps(templates(built)["retrain-churn"])
    (train, search) = churn["retrain"]["steps"][1]  # one group: they run at the same time
    assert train["template"] == "train"
    assert search == {"name": "search", "template": "search-worker", "withSequence": {"count": "2"}}
    worker = churn["search-worker"]
    assert worker["container"]["command"] == [
        "driftloop",
        "retrain",
        "--model",
        "churn",
        "--search-worker",
    ]
    for step in (churn["train"], worker):  # one study, named after the workflow
        env = {e["name"]: e.get("value") for e in step["container"]["env"]}
        assert env["DRIFTLOOP_STUDY_NAME"] == "{{workflow.name}}"
    # its own checkout: pods on other nodes cannot mount the ReadWriteOnce work volume
    assert "work" not in {m["name"] for m in worker["container"]["volumeMounts"]}
    assert worker["inputs"]["artifacts"][0]["path"] == worker["container"]["workingDir"]
    assert worker["nodeSelector"] == churn["train"]["nodeSelector"]
    assert worker["container"]["resources"] == churn["train"]["container"]["resources"]
    taxi = steps(templates(built)["retrain-taxi"])  # no search: no workers
    assert [s["name"] for s in taxi["retrain"]["steps"][1]] == ["train"]
    assert "DRIFTLOOP_STUDY_NAME" not in str(taxi["train"])


def test_the_argo_server_accepts_what_the_check_submits_for_that_template(built: dict) -> None:  # type: ignore[type-arg]
    from datetime import UTC, datetime

    with argo_server(FakeArgo()) as fake:
        for template in templates(built).values():
            fake.add_template(template)
        argo = ArgoServer(fake.base, "driftloop", fake.token)
        argo.dispatch_retrain(
            "taxi", "drift: trip_distance", "taxi-1", "{}", datetime.now(UTC), False
        )
        assert len(fake.workflows) == 1
        assert fake.contract_errors == []


def test_a_template_left_behind_by_a_model_moved_back_is_reported(tmp_path: Path) -> None:
    for part in ("k8s", "policies", "models"):
        shutil.copytree(ROOT / part, tmp_path / part)
    assert stale(tmp_path) == []
    spec = tmp_path / "models/taxi/model.yaml"
    spec.write_text(spec.read_text().replace("executor: argo", "executor: github"))
    problems = stale(tmp_path)
    assert "k8s/workflows/kustomization.yaml" in problems
    assert any(p.startswith("k8s/workflows/retrain-taxi.yaml") for p in problems)
