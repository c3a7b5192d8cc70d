"""Argo Workflows as the retrain executor: submitting a model's WorkflowTemplate through the
Argo Server's REST API, and reading the retrain history from its workflow list.

Submission is exactly once per trigger id, as workflow_dispatch is on GitHub: the workflow
carries the trigger id as a label, a submission first looks for one, and a submission whose
answer was lost is looked for again before it is retried (the Argo Server creates the
Workflow before it answers, so a lost answer is found at once).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from driftloop.errors import UpstreamError, UsageError
from driftloop.generate.workflow import MODEL_LABEL, label_value, template_name
from driftloop.policy.signals import Dispatch, History

__all__ = [
    "MODEL_LABEL",
    "TRIGGER_LABEL",
    "ArgoServer",
    "label_value",
    "template_name",
]

TRIGGER_LABEL = "driftloop.dev/trigger-id"
MANUAL_LABEL = "driftloop.dev/manual"
TOKEN_FILE = "/var/run/secrets/driftloop-argo/token"  # noqa: S105 - a path
SERVICE = "Argo Server"
# workflows not finished yet: "" is a workflow the controller has not picked up
ACTIVE = ("", "Pending", "Running")
# what the history needs of each workflow (the Argo Server's `fields` filter)
FIELDS = (
    "metadata.continue,items.metadata.name,items.metadata.labels,"
    "items.metadata.creationTimestamp,items.spec.arguments,items.status.phase"
)
PAGE = 500


def _parameters(workflow: dict[str, Any]) -> dict[str, str]:
    found = workflow.get("spec", {}).get("arguments", {}).get("parameters", [])
    return {p["name"]: str(p.get("value", "")) for p in found if "name" in p}


class ArgoServer:
    """The RepoHost part for models whose ``retrain.executor`` is ``argo``."""

    def __init__(
        self, url: str, namespace: str, token: str, timeout: float = 10.0, retries: int = 2
    ) -> None:
        self.url, self.namespace = url.rstrip("/"), namespace
        self.timeout, self.retries = timeout, retries
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_environment(cls) -> ArgoServer:
        """DRIFTLOOP_ARGO_SERVER (the Argo Server's URL), DRIFTLOOP_ARGO_NAMESPACE (default
        driftloop) and the bearer token in DRIFTLOOP_ARGO_TOKEN_FILE (default: the CronJob's
        projected service account token)."""
        url = os.environ.get("DRIFTLOOP_ARGO_SERVER", "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = f"{url[:80]!r} is not" if url else "is not set; it must be"
            raise UsageError(f"DRIFTLOOP_ARGO_SERVER {shown} the Argo Server's http(s) URL")
        namespace = os.environ.get("DRIFTLOOP_ARGO_NAMESPACE") or "driftloop"
        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", namespace):
            raise UsageError(f"DRIFTLOOP_ARGO_NAMESPACE {namespace[:80]!r} is not a namespace")
        return cls(url, namespace, read_token(os.environ.get("DRIFTLOOP_ARGO_TOKEN_FILE")))

    def close(self) -> None:
        self.session.close()

    # ---- HTTP --------------------------------------------------------------------------
    def _call(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, f"{self.url}{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise UpstreamError(SERVICE, f"{action}: {type(error).__name__}", True) from None
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message", ""))[:300]
            except ValueError:
                message = ""
            hint = " (the token was refused)" if response.status_code in (401, 403) else ""
            detail = f": {message}" if message else ""
            raise UpstreamError(
                SERVICE,
                f"{action}: HTTP {response.status_code}{hint}{detail}",
                response.status_code >= 500 or response.status_code == 429,
            )
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(SERVICE, f"{action}: the answer is not JSON") from None

    def workflows(self, selector: str) -> list[dict[str, Any]]:
        """Workflows in the namespace matching a label selector, every page."""
        path = f"/api/v1/workflows/{quote(self.namespace)}"
        found: list[dict[str, Any]] = []
        params = {"listOptions.labelSelector": selector, "listOptions.limit": str(PAGE),
                  "fields": FIELDS}  # fmt: skip
        while True:
            page = self._call("GET", path, "listing retrain workflows", params=params)
            found += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return found
            params = {**params, "listOptions.continue": token}

    def templates(self) -> set[str]:
        """The driftloop retrain WorkflowTemplates the namespace holds (doctor)."""
        path = f"/api/v1/workflow-templates/{quote(self.namespace)}"
        params = {"listOptions.labelSelector": MODEL_LABEL}
        found = self._call("GET", path, "listing WorkflowTemplates", params=params)
        return {str((t.get("metadata") or {}).get("name")) for t in found.get("items") or []}

    # ---- RepoHost ----------------------------------------------------------------------
    def retrain_history(self, model: str, now: datetime) -> History:
        return self.retrain_histories([model], now)[model]

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        """Every retrain workflow (one list for the whole fleet): dispatches, and the one
        pending or running. Open pull requests are GitHub's to tell."""
        wanted = {label_value(model): model for model in models}
        dispatches: dict[str, list[Dispatch]] = {model: [] for model in models}
        active: dict[str, str] = {}
        for workflow in self.workflows(MODEL_LABEL):
            meta = workflow.get("metadata") or {}
            labels = meta.get("labels") or {}
            model = wanted.get(labels.get(MODEL_LABEL, ""))
            created = meta.get("creationTimestamp")
            if model is None or not created:
                continue
            at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
            if at > now or (since is not None and at < since):
                continue
            trigger = _parameters(workflow).get("trigger-id") or labels.get(TRIGGER_LABEL, "")
            dispatches[model].append(Dispatch(at, trigger, labels.get(MANUAL_LABEL) == "true"))
            phase = (workflow.get("status") or {}).get("phase") or ""
            if phase in ACTIVE:
                active.setdefault(model, f"{trigger} ({meta.get('name')}: {phase or 'Pending'})")
        return {
            model: History(tuple(sorted(dispatches[model], key=lambda d: d.at)), None,
                           active.get(model))
            for model in models
        }  # fmt: skip

    def _where(self, workflow: dict[str, Any]) -> str:
        name = (workflow.get("metadata") or {}).get("name", "?")
        return f"{self.url}/workflows/{self.namespace}/{name}"

    def _submitted(self, model: str, trigger_id: str) -> str | None:
        selector = f"{MODEL_LABEL}={label_value(model)},{TRIGGER_LABEL}={label_value(trigger_id)}"
        for workflow in self.workflows(selector):
            if _parameters(workflow).get("trigger-id", trigger_id) == trigger_id:
                return self._where(workflow)
        return None

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        """Submit the model's WorkflowTemplate with the trigger's parameters, once."""
        found = self._submitted(model, trigger_id)
        if found:  # a retried CronJob: submitted already
            return found
        labels = {MODEL_LABEL: label_value(model), TRIGGER_LABEL: label_value(trigger_id),
                  MANUAL_LABEL: "true" if manual else "false"}  # fmt: skip
        body = {
            "namespace": self.namespace,
            "resourceKind": "WorkflowTemplate",
            "resourceName": template_name(model),
            "submitOptions": {
                "generateName": f"{template_name(model)[:50]}-",
                "labels": ",".join(f"{k}={v}" for k, v in labels.items()),
                # name=value, split at the first "=": a value may hold any character
                "parameters": [f"model={model}", f"reason={reason[:1000]}",
                               f"trigger-id={trigger_id}", f"evidence={evidence}"],
            },
        }  # fmt: skip
        path = f"/api/v1/workflows/{quote(self.namespace)}/submit"
        for attempt in range(self.retries + 1):
            if attempt:
                found = self._submitted(model, trigger_id)
                if found:  # the earlier attempt created it; only its answer was lost
                    return found
            try:
                return self._where(self._call("POST", path, f"submitting {body['resourceName']}",
                                              json=body))  # fmt: skip
            except UpstreamError as error:
                if not error.transient or attempt == self.retries:
                    raise
        raise AssertionError("unreachable")


def read_token(path: str | None) -> str:
    """The bearer token in ``path`` (default: the projected service account token)."""
    file = Path(path or TOKEN_FILE)
    try:
        token = file.read_text(encoding="utf-8").strip()
        token = token.removeprefix("Bearer ").strip()  # as ARGO_TOKEN holds it
    except FileNotFoundError:
        raise UsageError(
            f"DRIFTLOOP_ARGO_TOKEN_FILE {file}: no such file (the Argo Server's bearer token)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise UsageError(f"DRIFTLOOP_ARGO_TOKEN_FILE {file}: cannot be read ({reason})") from None
    if not token or any(c.isspace() for c in token):
        raise UsageError(f"DRIFTLOOP_ARGO_TOKEN_FILE {file}: does not hold one token")
    return token
