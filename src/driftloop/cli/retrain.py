"""``driftloop retrain``: fit a candidate, log and register it in MLflow (alias candidate)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from driftloop.cli.common import (
    check_output,
    emit,
    lineage_warnings,
    parse_time,
    registry_from_environment,
    tracking_uri,
)
from driftloop.errors import DataError, ExitCode, UsageError
from driftloop.gitops.inputs import check_reason, check_trigger_id, parse_evidence

__all__ = ["register"]

MAX_WORKERS = 64


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
    parser.add_argument(
        "--workers", type=int, default=1,
        help="processes sharing the hyper-parameter search (model.yaml estimator.search); "
        "$DRIFTLOOP_STUDY_STORAGE, an Optuna RDB URL, lets workers on other machines join",
    )  # fmt: skip
    parser.add_argument(
        "--search-worker", action="store_true",
        help="only run trials of the shared study ($DRIFTLOOP_STUDY_STORAGE, "
        "$DRIFTLOOP_STUDY_NAME) until it has n_trials, then exit: no fit, nothing registered "
        "(the Argo template's extra search pods)",
    )  # fmt: skip
    parser.add_argument("--alias", default="candidate")
    parser.add_argument("--out", type=Path, help="where to write candidate.json (required)")
    parser.set_defaults(handler=run)


def _champion(registry: Any, model: str) -> list[Any]:
    """The serving version the candidate is meant to replace, as a lineage input; none when
    lineage is off (one registry call saved) or the model has no champion."""
    from driftloop.adapters.lineage import lineage_enabled, model_dataset

    if not lineage_enabled():
        return []
    version = registry.alias_version(model, "champion")
    return [model_dataset(tracking_uri(), model, version)] if version else []


def search_worker(args: argparse.Namespace) -> int:
    from driftloop.loop.retrain import search_worker as join
    from driftloop.train.search import study_storage_url

    storage = os.environ.get("DRIFTLOOP_STUDY_STORAGE") or ""
    name = os.environ.get("DRIFTLOOP_STUDY_NAME") or ""
    if not storage or not name:
        raise UsageError("--search-worker joins a shared study: set DRIFTLOOP_STUDY_STORAGE "
                         "and DRIFTLOOP_STUDY_NAME")  # fmt: skip
    study_storage_url(storage)  # refused before the data is read, not after
    until = parse_time(args.until, flag="--until", future=True)
    complete = join(args.model, args.models, storage, name, args.data, until)
    emit(f"{args.model}: study {name} has {complete} complete trials")
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.lineage import data_dataset, lineage_run, model_dataset
    from driftloop.config import load_model
    from driftloop.loop.retrain import check_alias, retrain

    if args.search_worker:
        return search_worker(args)
    if args.out is None:
        raise UsageError("--out is required (where candidate.json is written)")

    # workflow_dispatch inputs: refused before an hour of training, not after it
    reason = check_reason(args.reason, "--reason")
    trigger_id = check_trigger_id(args.trigger_id, "--trigger-id")
    check_output(args.out, "--out")
    check_output(args.drift_report, "--drift-report", create_parent=True)
    check_alias(args.alias)
    if not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers {args.workers}: between 1 and {MAX_WORKERS}")
    storage = os.environ.get("DRIFTLOOP_STUDY_STORAGE") or None
    if storage is not None:
        from driftloop.train.search import study_storage_url

        study_storage_url(storage)  # refused before the data is read, not after
    evidence = None
    if args.evidence is not None:
        try:
            text = args.evidence.read_text(encoding="utf-8")
        except OSError as error:
            raise DataError(f"{args.evidence}: cannot read evidence: {error.strerror}") from None
        evidence = parse_evidence(text, str(args.evidence))
    spec = load_model(args.model, args.models)
    schema = [(f.name, f.type) for f in spec.features]
    registry = registry_from_environment()
    champion = _champion(registry, spec.name)
    trigger = {"reason": reason, "trigger_id": trigger_id, "evidence": evidence}
    data = data_dataset(args.data or spec.data.train, schema)
    with lineage_run(f"driftloop.retrain.{spec.name}", [data, *champion], trigger) as run:
        candidate = retrain(
            args.model,
            args.models,
            registry,
            args.data,
            reason,
            trigger_id,
            args.alias,
            parse_time(args.until, flag="--until", future=True),
            args.drift_report,
            evidence,
            args.workers,
            storage,
            progress=emit,
        )
        run.inputs[0] = data_dataset(candidate["data_uri"], schema, candidate["data_digest"])
        run.outputs = [model_dataset(tracking_uri(), spec.name, candidate["version"])]
    lineage_warnings(run.errors)
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
