"""``driftloop demo``: the whole loop locally; ``driftloop demo approve`` reviews its PR."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from driftloop.cli.common import emit, emit_json
from driftloop.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run the whole loop on this machine (MLflow, git, model server, Prometheus)",
        description="Train and serve a champion, replay reference then scenario traffic, let "
        "`check` decide, run retrain -> gate -> propose as retrain.yml would, wait for your "
        "review (driftloop demo approve), promote, and reload the server.",
    )
    parser.add_argument("action", nargs="?", choices=("run", "approve"), default="run")
    parser.add_argument(
        "--scenario",
        default="persistent",
        choices=("persistent", "transient", "degraded", "concept", "none"),
    )
    parser.add_argument(
        "--model", default="churn", choices=("churn", "taxi", "tickets"),
        help="the model whose traffic the scenario changes (the others stay as they were)",
    )  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=Path("driftloop-demo"))
    review = parser.add_mutually_exclusive_group()
    review.add_argument(
        "--approve",
        dest="approve",
        action="store_true",
        default=None,
        help="approve and merge the PR automatically (as demo-reviewer)",
    )
    review.add_argument(
        "--no-wait", dest="approve", action="store_false",
        help="stop once the PR is open (the default without a terminal)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.demo.loop import approve_demo, run_demo

    if args.action == "approve":
        emit(approve_demo(args.workdir, os.environ.get("USER") or "reviewer"))
        return ExitCode.OK
    # Only --approve merges as the demo reviewer. Without it the demo waits at a terminal for
    # `driftloop demo approve`, and without a terminal it stops and says how to approve.
    approve = args.approve if args.approve is not None else (None if sys.stdin.isatty() else False)
    result = run_demo(args.scenario, args.workdir, emit, approve, args.model)
    where = result.where
    lines = [
        "",
        f"summary: {result.outcome}",
        *(
            f"  {model}: {state.get('decision')}, serving v{state.get('serving')}"
            for model, state in result.models.items()
        ),
        *(
            f"  {k.replace('_', ' ')}: {v}"
            for k, v in where.items()
            if k != "prometheus" and not k.startswith("model_server")
        ),
        f"  MLflow UI: mlflow ui --backend-store-uri sqlite:///{result.workdir / 'mlflow.db'}",
        (
            f"  Prometheus (while the demo ran): {where.get('prometheus', '-')}; "
            f"its data stays in {result.workdir / 'prometheus'}"
        ),
        f"  local pull requests: driftloop pulls list --repo {result.workdir}",
    ]
    if args.json:
        emit_json(result.to_dict())
    else:
        emit("\n".join(lines))
    return ExitCode.OK
