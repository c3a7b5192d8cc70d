"""``driftloop gate``: candidate vs champion on the same data; exit 1 when a gate fails."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from driftloop.cli.common import (
    check_output,
    emit,
    lineage_warnings,
    registry_from_environment,
    tracking_uri,
)
from driftloop.errors import DataError, ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "gate",
        help="evaluate a candidate against the champion; exit 1 if a gate fails",
        description="Load the champion (alias champion) and the candidate, evaluate both on the "
        "newest slice of the candidate's data and on the golden set if configured, and apply "
        "policies/gates.yaml. When every gate passes, move alias challenger to the candidate "
        "(what staging serves). Exit 0 all gates pass, 1 a gate failed.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--candidate", type=Path, required=True, help="candidate.json from retrain")
    parser.add_argument("--out", type=Path, required=True, help="where to write gate-report.json")
    parser.add_argument("--markdown", type=Path, help="also write the report as a markdown table")
    parser.add_argument("--data", help="labelled data (default: the candidate's training data)")
    parser.add_argument("--policy", type=Path, default=Path("policies/gates.yaml"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.set_defaults(handler=run)


def _read_candidate(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read candidate: {error}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: a candidate is a JSON object (from driftloop retrain --out)")
    missing = [key for key in ("model", "version", "model_uri") if key not in data]
    if missing:
        raise DataError(f"{path}: candidate lacks {', '.join(missing)}")
    return data


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.lineage import (
        data_dataset,
        lineage_enabled,
        lineage_run,
        model_dataset,
    )
    from driftloop.loop.gate import gate

    candidate = _read_candidate(args.candidate)
    check_output(args.out, "--out")
    check_output(args.markdown, "--markdown")
    registry = registry_from_environment()
    inputs = [model_dataset(tracking_uri(), args.model, str(candidate["version"]))]
    with lineage_run(f"driftloop.gate.{args.model}", inputs) as run:
        report = gate(args.model, candidate, registry, args.policy, args.models, args.data)
        if report.champion_version:
            run.inputs.append(model_dataset(tracking_uri(), args.model, report.champion_version))
        run.inputs += [data_dataset(uri, []) for uri in report.evaluation["data"].values()]
        if lineage_enabled():  # the stored report's URI costs an MLflow call
            tags = registry.version_tags(args.model, report.candidate_version)
            run.outputs = [data_dataset(tags.get("driftloop.gate_report", "gate-report"), [])]
    lineage_warnings(run.errors)
    args.out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(report.to_markdown(), encoding="utf-8")
    subject = f"{report.model} v{report.candidate_version}"
    if report.passed:
        emit(f"{subject}: all {len(report.gates)} gates passed ({report.mode})")
        return ExitCode.OK
    failed = ", ".join(f"{g.name}@{g.dataset or 'all'}" for g in report.failed)
    emit(f"{subject}: gate(s) failed: {failed}")
    return ExitCode.FINDING
