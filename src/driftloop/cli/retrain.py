"""``driftloop retrain``: fit a candidate, log and register it in MLflow (alias candidate)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from driftloop.cli.common import check_output, emit, parse_time, registry_from_environment
from driftloop.errors import DataError, ExitCode
from driftloop.gitops.inputs import check_reason, check_trigger_id, parse_evidence

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "retrain",
        help="train a candidate and register it in MLflow (alias candidate)",
        description="Fit the model declared in models/NAME/model.yaml, evaluate it on the newest "
        "slice of the data, profile the training data, log everything to MLflow "
        "(MLFLOW_TRACKING_URI; SQLite under .driftloop/ by default), register a new version "
        "with alias candidate (driftloop gate moves challenger to it when every gate passes), "
        "and write candidate.json.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--models", type=Path, default=Path("models"), help="models directory")
    parser.add_argument("--data", help="training data URI (default: model.yaml data.train)")
    parser.add_argument("--reason", default="manual", help="why this retrain runs")
    parser.add_argument("--trigger-id", default="", help="the drift episode that triggered it")
    parser.add_argument(
        "--evidence", type=Path, help="the drift evidence (JSON) to check before training"
    )
    parser.add_argument(
        "--until",
        default="now",
        help="end of the training window when model.yaml sets data.window (ISO 8601, -6h, now)",
    )
    parser.add_argument(
        "--drift-report", type=Path, help="write the reference-vs-training-data HTML report here"
    )
    parser.add_argument("--alias", default="candidate")
    parser.add_argument("--out", type=Path, required=True, help="where to write candidate.json")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.loop.retrain import check_alias, retrain

    # workflow_dispatch inputs: refused before an hour of training, not after it
    reason = check_reason(args.reason, "--reason")
    trigger_id = check_trigger_id(args.trigger_id, "--trigger-id")
    check_output(args.out, "--out")
    check_output(args.drift_report, "--drift-report", create_parent=True)
    check_alias(args.alias)
    evidence = None
    if args.evidence is not None:
        try:
            text = args.evidence.read_text(encoding="utf-8")
        except OSError as error:
            raise DataError(f"{args.evidence}: cannot read evidence: {error.strerror}") from None
        evidence = parse_evidence(text, str(args.evidence))
    candidate = retrain(
        args.model,
        args.models,
        registry_from_environment(),
        args.data,
        reason,
        trigger_id,
        args.alias,
        parse_time(args.until, flag="--until", future=True),
        args.drift_report,
        evidence,
    )
    args.out.write_text(json.dumps(candidate, indent=2) + "\n", encoding="utf-8")
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in candidate["metrics"].items())
    window = candidate["data_window"]
    rows = f"{candidate['data_rows']} rows" + (
        f" from {window['start']} to {window['end']}" if window else ""
    )
    emit(
        f"registered {candidate['model']} version {candidate['version']} as {args.alias} "
        f"({rows}): {metrics}"
    )
    return ExitCode.OK
