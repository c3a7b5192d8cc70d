"""The WorkflowTemplate of a model that retrains on the cluster (``retrain.executor: argo``):
what retrain.yml does on a runner, as Argo Workflows steps in the same image.

checkout (the default branch, into the workflow's volume) -> train (retrain, with the model's
resources, node selector and tolerations; retried when its pod is lost) -> gate -> propose (the
pull request, or the issue when a gate failed or the data was refused). The steps run the
repository's own scripts/retrain-pipeline.sh and scripts/propose.sh, as the GitHub jobs do.
MLflow's settings reach every step; the GitHub App's credentials only the propose step.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from driftloop.config import ModelSpec

__all__ = [
    "IMAGE",
    "KEEP_SECONDS",
    "MODEL_LABEL",
    "label_value",
    "template_name",
    "workflow_template",
]

MODEL_LABEL = "driftloop.dev/model"
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

IMAGE = (
    "ghcr.io/driftloop/driftloop-server@sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000"
)
SOURCE = "/work/src"  # the checkout, on the workflow's volume
OUT = "/work/out"  # what retrain.yml passes between its jobs as an artifact
# Finished workflows are the check's retrain history (cooldown, weekly cap, a monthly
# schedule's period): kept 35 days, their pods deleted as soon as they succeed.
KEEP_SECONDS = 35 * 24 * 3600
USER = 10001


def label_value(text: str) -> str:
    """``text`` as a label value: itself when it is one, else a digest of it (a label value
    is at most 63 characters, alphanumeric at both ends)."""
    if _LABEL_VALUE.match(text):
        return text
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:40]


def template_name(model: str) -> str:
    """The model's WorkflowTemplate, which the check submits."""
    return f"retrain-{model}"


_PARAMETERS = ("reason", "trigger-id", "evidence")
_DEFAULTS = {"reason": "manual", "trigger-id": "", "evidence": "{}"}


def _container(command: list[str], env: list[dict[str, Any]], mounts: list[dict[str, Any]],
               resources: dict[str, Any], source: str = SOURCE) -> dict[str, Any]:  # fmt: skip
    # the workflow's volume, or a search pod's own checkout (pods on several nodes cannot
    # share a ReadWriteOnce volume)
    volume = {"name": "work", "mountPath": "/work"} if source == SOURCE else {
        "name": "src", "mountPath": source}  # fmt: skip
    return {
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "workingDir": source,
        # retrain.yml's inputs, as the environment (never interpolated into a script)
        "env": [
            {"name": "MODEL", "value": "{{workflow.parameters.model}}"},
            {"name": "REASON", "value": "{{workflow.parameters.reason}}"},
            {"name": "TRIGGER_ID", "value": "{{workflow.parameters.trigger-id}}"},
            {"name": "EVIDENCE", "value": "{{workflow.parameters.evidence}}"},
            # the image has driftloop installed: the scripts skip scripts/setup.sh
            {"name": "DRIFTLOOP_INSTALLED", "value": "1"},
            *env,
        ],
        # MLflow's URI (retrain-config) and its token (optional Secret) in every step
        "envFrom": [
            {"configMapRef": {"name": "retrain-config"}},
            {"secretRef": {"name": "driftloop-mlflow", "optional": True}},
        ],
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            volume,
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
            *mounts,
        ],
    }


_SMALL = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}


# a search spread over pods: one Optuna study in a database they share, named per workflow
_STUDY: list[dict[str, Any]] = [
    {"name": "DRIFTLOOP_STUDY_STORAGE",
     "valueFrom": {"secretKeyRef": {"name": "driftloop-study-storage", "key": "url"}}},
    {"name": "DRIFTLOOP_STUDY_NAME", "value": "{{workflow.name}}"},
]  # fmt: skip


def _checkout(repository: str, path: str) -> dict[str, Any]:
    return {"artifacts": [{
        "name": "repository",
        "path": path,  # inside a mounted volume: loaded into it, seen by the container
        "git": {
            "repo": f"https://github.com/{repository}.git",
            "depth": 1,  # no revision: the default branch, what review let in
            # a read-only token (or deploy credentials) for a private repository
            "usernameSecret": {"name": "driftloop-git", "key": "username", "optional": True},
            "passwordSecret": {"name": "driftloop-git", "key": "password", "optional": True},
        },
    }]}  # fmt: skip


def _search_worker(spec: ModelSpec, repository: str) -> dict[str, Any]:
    """A search pod: trials of the shared study on the same data, nothing registered."""
    template = _train(spec)
    template["name"] = "search-worker"
    template["inputs"] = _checkout(repository, "/src")
    resources = template["container"]["resources"]
    template["container"] = _container(
        ["driftloop", "retrain", "--model", spec.name, "--search-worker"], _STUDY, [],
        resources, source="/src",
    )  # fmt: skip
    return template


def _train(spec: ModelSpec) -> dict[str, Any]:
    retrain = spec.retrain
    resources = {key: value for key, value in
                 (("requests", retrain.resources.requests), ("limits", retrain.resources.limits))
                 if value}  # fmt: skip
    template: dict[str, Any] = {
        "name": "train",
        # a pod lost with its node (a spot node reclaimed) is an error, not a failure: retry
        # it; a retrain that fails on its own does not run again
        "retryStrategy": {
            "limit": retrain.retries,
            "retryPolicy": "OnError",
            "backoff": {"duration": "1m", "factor": 2},
        },
        "container": _container(
            ["bash", f"{SOURCE}/scripts/retrain-pipeline.sh", OUT, "retrain"],
            _STUDY if retrain.workers > 1 else [],
            [],
            resources or {"requests": {"cpu": "1", "memory": "2Gi"}},
        ),
    }
    if retrain.node_selector:
        template["nodeSelector"] = dict(retrain.node_selector)
    if retrain.tolerations:
        template["tolerations"] = [t.manifest() for t in retrain.tolerations]
    return template


def workflow_template(spec: ModelSpec, repository: str) -> dict[str, Any]:
    """``repository`` (owner/name on GitHub) is checked out at its default branch."""
    name = spec.name
    github_app = [{"name": "GITHUB_APP_CREDENTIALS_DIR",
                   "value": "/var/run/secrets/driftloop-github-app"}]  # fmt: skip
    app_mount = [{"name": "github-app", "mountPath": "/var/run/secrets/driftloop-github-app",
                  "readOnly": True}]  # fmt: skip
    workers = spec.retrain.workers
    train: list[dict[str, Any]] = [{"name": "train", "template": "train"}]
    extra: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if workers > 1:  # the search's other pods, beside the training step
        train.append({"name": "search", "template": "search-worker",
                      "withSequence": {"count": str(workers - 1)}})  # fmt: skip
        extra.append(_search_worker(spec, repository))
        volumes.append({"name": "src", "emptyDir": {"sizeLimit": "1Gi"}})
    checkout = {
        "name": "checkout",
        "inputs": _checkout(repository, SOURCE),  # on the work volume every step mounts
        # the model must exist on the default branch, or nothing is trained
        "container": _container(["test", "-f", f"{SOURCE}/models/{name}/model.yaml"], [], [],
                                {"requests": {"cpu": "50m", "memory": "64Mi"}}),
    }  # fmt: skip
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": template_name(name), "labels": {MODEL_LABEL: label_value(name)}},
        "spec": {
            "entrypoint": "retrain",
            "arguments": {"parameters": [
                # a submission for another model is refused by the Argo Server
                {"name": "model", "value": name, "enum": [name]},
                *({"name": p, "value": _DEFAULTS[p]} for p in _PARAMETERS),
            ]},
            "serviceAccountName": "driftloop-retrain",
            "automountServiceAccountToken": False,
            # the executor reports step results with its own, narrowly bound account
            "executor": {"serviceAccountName": "driftloop-retrain-executor"},
            "activeDeadlineSeconds": int(spec.retrain.timeout.total_seconds()),
            # one retrain of a model at a time, however it was submitted
            "synchronization": {"mutexes": [{"name": template_name(name)}]},
            "podGC": {"strategy": "OnPodSuccess"},  # failed pods stay for their logs
            "ttlStrategy": {"secondsAfterCompletion": KEEP_SECONDS},
            "workflowMetadata": {"labels": {MODEL_LABEL: label_value(name)}},
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER, "fsGroup": USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "work"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "4Gi"}}},
            }],
            "volumeClaimGC": {"strategy": "OnWorkflowCompletion"},
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}},
                {"name": "github-app", "secret": {"secretName": "driftloop-github-app",
                                                  "defaultMode": 0o440}},
                *volumes,
            ],
            "templates": [
                {"name": "retrain", "steps": [
                    [{"name": "checkout", "template": "checkout"}],
                    train,
                    [{"name": "gate", "template": "gate"}],
                    [{"name": "propose", "template": "propose"}],
                ]},
                checkout,
                _train(spec),
                *extra,
                {"name": "gate", "container": _container(
                    ["bash", f"{SOURCE}/scripts/retrain-pipeline.sh", OUT, "gate"], [], [],
                    _SMALL)},
                {"name": "propose", "container": _container(
                    ["bash", f"{SOURCE}/scripts/propose.sh", OUT], github_app, app_mount,
                    _SMALL)},
            ],
        },
    }  # fmt: skip
