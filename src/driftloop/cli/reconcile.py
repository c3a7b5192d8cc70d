"""``driftloop reconcile``: move ``champion`` back to what production serves after an
aborted canary (ADR 0007)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftloop.cli.common import (
    emit,
    emit_json,
    parse_time,
    prometheus_url,
    registry_from_environment,
    selected_models,
)
from driftloop.cli.promote import approval_keys_argument
from driftloop.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "reconcile",
        help="keep the champion alias on the version production serves",
        description="Reads from Prometheus which versions each model's production pods serve "
        "and whether Argo Rollouts aborted its canary (rollout_info phase Degraded); when it "
        "did and production serves one other version, moves MLflow's champion alias back to "
        "it and tags both versions (rollout=aborted on the aborted one). Exit 0 when it ran; "
        "3 when Prometheus or MLflow could not be read.",
    )
    parser.add_argument("--prometheus", help="Prometheus URL (default: $DRIFTLOOP_PROMETHEUS_URL)")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--model", action="append", help="only this model (repeatable)")
    parser.add_argument("--namespace", default="driftloop", help="where production runs")
    parser.add_argument("--at", default="now", help="as of this time (ISO 8601, -1h, now)")
    parser.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")
    parser.add_argument("--json", action="store_true", help="one JSON line per model")
    approval_keys_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.prometheus import PrometheusSource
    from driftloop.attestation import Verification
    from driftloop.loop.reconcile import reconcile
    from driftloop.serve.approval import verify_version

    models = selected_models(args.models, args.model)
    now = parse_time(args.at, flag="--at")
    registry = registry_from_environment()

    def verify(model: str, version: str) -> Verification:
        return verify_version(registry, f"models:/{model}/{version}", args.approval_keys)

    with PrometheusSource(prometheus_url(args.prometheus)) as source:
        results = reconcile(models, source, registry, now, args.namespace, args.dry_run, verify)
    for result in results:
        if args.json:
            emit_json(result.to_dict())
        else:
            emit(f"{result.model}: {result.action}: {'; '.join(result.reasons)}")
    return ExitCode.OK
