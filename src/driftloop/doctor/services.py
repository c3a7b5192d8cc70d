"""What doctor checks upstream: Prometheus records driftloop's rules, and MLflow has a
champion for every model."""

from __future__ import annotations

import httpx

from driftloop.doctor.check import Check, guard

__all__ = ["check_argo", "check_mlflow", "check_prometheus"]


def check_prometheus(url: str | None) -> Check:
    name = "Prometheus"
    if not url:
        return Check(name, False, "no URL", "set DRIFTLOOP_PROMETHEUS_URL or pass --prometheus")
    try:
        body = httpx.get(f"{url.rstrip('/')}/api/v1/rules", timeout=10).json()
    except (httpx.HTTPError, ValueError) as error:
        return Check(
            name,
            False,
            f"{url} unreachable ({type(error).__name__})",
            "check the URL and NetworkPolicy",
        )
    rules = {
        r.get("name") for g in body.get("data", {}).get("groups", []) for r in g.get("rules", [])
    }
    psi = sorted(r for r in rules if r and r.startswith("driftloop:feature_psi:"))
    if not psi:
        return Check(
            name,
            False,
            f"{url} has no driftloop recording rules",
            "apply k8s/base/prometheus-rule.yaml",
        )
    return Check(name, True, f"{url} records {', '.join(psi)}")


def check_mlflow(models: list[str]) -> list[Check]:
    from driftloop.adapters.mlflow import MlflowRegistry

    registry = MlflowRegistry.from_environment()
    out = []
    for model in models:

        def one(model: str = model) -> Check:
            version = registry.alias_version(model, "champion")
            if version is None:
                return Check(
                    f"MLflow {model}",
                    False,
                    "no version with alias champion",
                    "retrain, gate, merge the PR, promote (or `mlflow` set the alias once)",
                )
            return Check(
                f"MLflow {model}", True, f"champion is v{version} ({registry.tracking_uri})"
            )

        out.append(guard(f"MLflow {model}", "set MLFLOW_TRACKING_URI to a reachable server", one))
    return out


def check_argo(on_argo: list[str]) -> Check | None:
    """The models whose retrain.executor is argo have their WorkflowTemplate on the Argo
    Server the drift check submits to, and the check's settings reach it."""
    import os

    from driftloop.adapters.argo import ArgoServer
    from driftloop.errors import DriftloopError
    from driftloop.generate.workflow import template_name

    if not on_argo:
        return None
    name = "Argo Server"
    if not os.environ.get("DRIFTLOOP_ARGO_SERVER"):
        return Check(
            name,
            False,
            f"{', '.join(on_argo)} retrain on argo; no server is set",
            "set DRIFTLOOP_ARGO_SERVER and DRIFTLOOP_ARGO_TOKEN_FILE as the CronJob does",
        )
    try:
        argo = ArgoServer.from_environment()
        found = argo.templates()
    except DriftloopError as error:
        return Check(name, False, str(error), "check the URL, the token file and its Role")
    missing = [template_name(m) for m in on_argo if template_name(m) not in found]
    if missing:
        return Check(
            name,
            False,
            f"no WorkflowTemplate {', '.join(missing)} in {argo.namespace}",
            "make manifests, commit k8s/workflows/, let Argo CD sync",
        )
    return Check(name, True, f"{argo.namespace} has {', '.join(template_name(m) for m in on_argo)}")
