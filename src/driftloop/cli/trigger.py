"""``driftloop trigger``: a manual retrain through the same dispatch path as the check."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftloop.cli.check import add_repo_host_arguments, repo_host
from driftloop.cli.common import emit, emit_json
from driftloop.errors import ExitCode
from driftloop.gitops.inputs import check_reason

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "trigger",
        help="dispatch a manual retrain (recorded as manual)",
        description="Dispatch the retrain workflow for a model by hand. Cooldown and the weekly "
        "cap apply unless --force; an open driftloop PR or a queued/running retrain always "
        "blocks it (exit 1, nothing dispatched).",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--reason", required=True)
    parser.add_argument("--force", action="store_true", help="bypass cooldown and weekly cap")
    parser.add_argument("--policy", type=Path, default=Path("policies/drift.yaml"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--json", action="store_true")
    add_repo_host_arguments(parser, default="local", nowhere=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.repohost import compact_evidence
    from driftloop.config import load_drift_policy, load_model
    from driftloop.policy.decision import Decision
    from driftloop.policy.suppression import suppression

    load_model(args.model, args.models)
    args.reason = check_reason(args.reason, "--reason")
    check_reason(f"manual: {args.reason}", "--reason")  # what the retrain will be told
    host = repo_host(args, [args.model])
    assert host is not None  # --dispatch none is not offered
    now = datetime.now(UTC)
    settings = load_drift_policy(args.policy).settings_for(args.model)
    history = host.retrain_history(args.model, now)
    trigger_id = f"{args.model}-manual-{now.strftime('%Y%m%dT%H%M%SZ')}"
    blocked = suppression(
        args.model, now, trigger_id, history, settings, enforce_limits=not args.force
    )
    evidence = {"manual": True, "reason": args.reason, "forced": args.force}
    if blocked is not None:
        decision = Decision(
            args.model, "suppressed", [f"manual: {args.reason}", blocked], evidence, trigger_id, now
        )
        code = ExitCode.FINDING
    else:
        where = host.dispatch_retrain(
            args.model, f"manual: {args.reason}", trigger_id, compact_evidence(evidence), now, True
        )
        decision = Decision(
            args.model,
            "trigger",
            [f"manual: {args.reason}", f"dispatched ({where})"],
            evidence,
            trigger_id,
            now,
        )
        code = ExitCode.OK
    if args.json:
        emit_json(decision.to_dict())
    else:
        emit(f"{decision.model}: {decision.decision}: {'; '.join(decision.reasons)}")
    return code
