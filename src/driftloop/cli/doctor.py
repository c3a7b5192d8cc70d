"""``driftloop doctor``: ok/fail with the fix for each part of a real installation."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from driftloop.cli.common import emit, emit_json
from driftloop.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "doctor",
        help="check configs, Prometheus, MLflow and the repo host; exit 1 if anything fails",
    )
    parser.add_argument("--prometheus", help="default: $DRIFTLOOP_PROMETHEUS_URL")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--policies", type=Path, default=Path("policies"))
    parser.add_argument(
        "--host",
        choices=("local", "github"),
        default=os.environ.get("DRIFTLOOP_REPO_HOST", "local"),
    )
    parser.add_argument("--repo", type=Path, default=Path())
    parser.add_argument(
        "--environment",
        default="driftloop",
        help="the GitHub environment retrain.yml and promote.yml use (default: driftloop)",
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def executors(models_dir: Path, models: list[str], executor: str) -> list[str]:
    """The valid models whose retrain.executor is ``executor``."""
    from driftloop.config import load_model
    from driftloop.errors import DriftloopError

    found = []
    for model in models:
        try:
            if load_model(model, models_dir).retrain.executor == executor:
                found.append(model)
        except DriftloopError:  # reported by the configuration checks
            continue
    return found


def run(args: argparse.Namespace) -> int:
    from driftloop.doctor import (
        check_approval_keys,
        check_argo,
        check_configs,
        check_github,
        check_gitops,
        check_local_repo,
        check_mlflow,
        check_prometheus,
    )

    checks, models = check_configs(args.models, args.policies)
    if (args.repo / "k8s").is_dir():
        checks += check_gitops(args.repo)
        checks.append(check_approval_keys(args.repo))
    checks.append(check_prometheus(args.prometheus or os.environ.get("DRIFTLOOP_PROMETHEUS_URL")))
    checks += check_mlflow(models)
    if args.host == "github":  # where the cluster's check dispatches: GitHub and Argo
        checks += check_github(args.environment)
        argo = check_argo(executors(args.models, models, "argo"))
        checks += [argo] if argo else []
    else:
        checks += check_local_repo(args.repo)
    if args.json:
        emit_json([{"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix} for c in checks])
    else:
        for check in checks:
            emit(check.line())
    return ExitCode.OK if all(c.ok for c in checks) else ExitCode.FINDING
