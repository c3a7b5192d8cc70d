"""``driftloop check``: the CronJob. Query Prometheus, apply the policy, dispatch retrains."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import (
    check_tasks,
    emit,
    emit_json,
    http_url,
    parse_step,
    parse_time,
    positive_seconds,
    prometheus_url,
    selected_models,
)
from driftloop.errors import ExitCode, UsageError
from driftloop.policy.decision import VERDICTS

if TYPE_CHECKING:
    from driftloop.adapters.repohost import RepoHost
    from driftloop.loop.check import CheckRun

__all__ = ["add_repo_host_arguments", "register", "repo_host"]


def add_repo_host_arguments(
    parser: argparse.ArgumentParser, default: str, nowhere: bool = True
) -> None:
    parser.add_argument(
        "--dispatch",
        choices=("github", "argo", "local", "none") if nowhere else ("github", "argo", "local"),
        default=default,
        help="where retrains are dispatched: GitHub (retrain.yml via workflow_dispatch; "
        "GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN or a GitHub App); argo: each model "
        "where its retrain.executor says, the Argo Server for argo (DRIFTLOOP_ARGO_SERVER, "
        "DRIFTLOOP_ARGO_NAMESPACE, DRIFTLOOP_ARGO_TOKEN_FILE) and GitHub for github; the "
        "local repo host (records under REPO/.driftloop/)" + (", or nowhere" if nowhere else ""),
    )
    parser.add_argument("--repo", type=Path, default=Path(), help="the local repo host's root")


def repo_host(args: argparse.Namespace, models: list[str]) -> RepoHost | None:
    """Where ``models`` retrain. An ``argo`` model is never dispatched to GitHub; the Argo
    Server is configured (and its token read) only when a model retrains there."""
    if args.dispatch in ("github", "argo"):
        from driftloop.adapters.github import GitHubHost
        from driftloop.config import load_model

        executors = {m: load_model(m, args.models).retrain.executor for m in models}
        on_argo = sorted(m for m, executor in executors.items() if executor == "argo")
        if args.dispatch == "github" and on_argo:
            raise UsageError(
                f"{', '.join(on_argo)}: retrain.executor is argo in model.yaml; "
                "dispatch with --dispatch argo (nothing was dispatched)"
            )
        if not on_argo:
            return GitHubHost.from_environment()
        from driftloop.adapters.argo import ArgoServer
        from driftloop.adapters.routed import RoutedHost

        argo = ArgoServer.from_environment()  # its token is read before anything is sent
        return RoutedHost(GitHubHost.from_environment(), argo, executors)
    if args.dispatch == "local":
        from driftloop.adapters.git import Git
        from driftloop.adapters.localhost import LocalRepoHost

        if not Git(args.repo).is_repository():  # never a new directory for a mistyped path
            raise UsageError(
                f"--repo {args.repo} is not a git repository, where --dispatch local records "
                "dispatches; use --dispatch none to decide only, or --dispatch github"
            )
        return LocalRepoHost(args.repo)
    return None


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="decide per model whether drift warrants a retrain, and dispatch it",
        description="Stateless: reads recorded PSI from Prometheus and dispatch history from "
        "the repo host. One decision per model (trigger, suppressed, detected, warn, ok, "
        "insufficient_data; detected: a shift on the fast window, never dispatched). Exit 0 "
        "when the check ran, whatever it decided; 3 when Prometheus "
        "or the repo host could not be read (then nothing is dispatched).",
    )
    parser.add_argument("--prometheus", help="Prometheus URL (default: $DRIFTLOOP_PROMETHEUS_URL)")
    parser.add_argument("--policy", type=Path, default=Path("policies/drift.yaml"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--model", action="append", help="check only this model (repeatable)")
    add_repo_host_arguments(parser, default="local")
    parser.add_argument("--dry-run", action="store_true", help="decide, dispatch nothing")
    parser.add_argument(
        "--json", action="store_true", default=True, help="one JSON line per model (the default)"
    )
    parser.add_argument(
        "--human", dest="json", action="store_false", help="one readable line per model"
    )
    parser.add_argument(
        "--step", default="5m", help="spacing of history points (the CronJob interval)"
    )
    parser.add_argument("--at", default="now", help="decide as of this time (ISO 8601, -6h, now)")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=10.0, help="seconds per Prometheus query"
    )
    parser.add_argument("--pushgateway", help="push decisions and a last-success time here")
    parser.set_defaults(handler=run)


def push(url: str, run: CheckRun, now: datetime) -> None:
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    decision = Gauge("driftloop_check_decision", "1 for the decision taken per model.",
                     ["model", "decision"], registry=registry)  # fmt: skip
    for d in run.decisions:
        for kind in VERDICTS:
            decision.labels(d.model, kind).set(1.0 if d.decision == kind else 0.0)
    success = Gauge("driftloop_check_last_success_timestamp_seconds", "When the check last ran.",
                    registry=registry)  # fmt: skip
    success.set(now.timestamp())
    try:
        push_to_gateway(url, job="driftloop-check", registry=registry, timeout=10)
    except OSError as error:
        from driftloop.errors import UpstreamError

        raise UpstreamError("Pushgateway", f"{url}: {error}") from None


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.prometheus import PrometheusSource
    from driftloop.config import load_drift_policy
    from driftloop.loop.check import run_check

    if args.pushgateway:
        http_url(args.pushgateway, "--pushgateway")

    policy = load_drift_policy(args.policy)
    models = selected_models(args.models, args.model)
    check_tasks(policy, args.models, models, str(args.policy))
    now, step = parse_time(args.at, flag="--at"), parse_step(args.step)
    with PrometheusSource(prometheus_url(args.prometheus), timeout=args.timeout) as source:
        result = run_check(models, source, repo_host(args, models), policy, now, step, args.dry_run)
    for decision in result.decisions:
        if args.json:
            data = decision.to_dict()
            if decision.model in result.dispatched:
                data["dispatched"] = result.dispatched[decision.model]
            emit_json(data)
        else:
            where = (
                f" -> dispatched ({result.dispatched[decision.model]})"
                if decision.model in result.dispatched
                else ""
            )
            emit(f"{decision.model}: {decision.decision}{where}: {'; '.join(decision.reasons)}")
    if args.pushgateway:
        push(args.pushgateway, result, now)
    return ExitCode.OK
