"""What ``retrain.yml`` runs when the check dispatches, run in the demo's process: retrain,
gate, an Evidently drift report for the reviewer, then propose (a pull request, or an issue
when a gate fails)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.config import load_model
from driftloop.drift.report import write_html_report
from driftloop.loop.gate import gate
from driftloop.loop.propose import propose
from driftloop.loop.retrain import retrain
from driftloop.synthetic import scenarios

__all__ = ["post_onset", "retrain_pipeline"]


def post_onset(model: str, scenario: str) -> pd.DataFrame:
    frame = scenarios.stream(model, scenario, hours=24, rows_per_hour=500, seed=7)
    onset = pd.Timestamp(scenarios.STREAM_START) + pd.Timedelta(hours=scenarios.ONSET_HOURS)
    return frame[frame["event_time"] >= onset].reset_index(drop=True)


def retrain_pipeline(
    record: dict[str, Any],
    scenario: str,
    workdir: Path,
    registry: MlflowRegistry,
    host: LocalRepoHost,
    say: Callable[[str], None],
) -> dict[str, str]:
    """Runs the pipeline for one dispatch ``record``; returns where its reports are."""
    model = record["model"]
    regime = scenario if scenario in ("degraded", "concept") else "persistent"
    data = f"demo://{model}/{regime}"
    run = workdir / "runs" / record["trigger_id"]
    run.mkdir(parents=True, exist_ok=True)
    say(f"  retrain.yml (local): retrain {model} on {data}")
    candidate = retrain(
        model,
        workdir / "models",
        registry,
        data,
        record["reason"],
        record["trigger_id"],
    )
    (run / "candidate.json").write_text(json.dumps(candidate, indent=2))
    say(
        f"  retrain.yml (local): registered v{candidate['version']} as candidate; "
        "gating against the champion"
    )
    report = gate(
        model,
        candidate,
        registry,
        workdir / "policies/gates.yaml",
        workdir / "models",
        progress=lambda step: say(f"  retrain.yml (local): gate: {step}"),
    )
    (run / "gate-report.json").write_text(json.dumps(report.to_dict(), indent=2))
    (run / "gate-report.md").write_text(report.to_markdown())
    spec = load_model(model, workdir / "models")
    reference = scenarios.reference(model, rows=5000)
    html = workdir / "reports" / f"drift-{record['trigger_id']}.html"
    html.parent.mkdir(exist_ok=True)
    write_html_report(reference, post_onset(model, scenario).head(5000), spec.feature_types, html)
    evidence = json.loads(record["evidence"])
    proposal = propose(spec, candidate, report.to_dict(), evidence, host, [], 0.2)
    failed = ", ".join(report.to_dict()["failed"])
    verdict = "passed" if report.passed else f"FAILED ({failed})"
    say(
        f"  retrain.yml (local): gates {verdict}; "
        f"{proposal.kind.replace('_', ' ')} {proposal.action}: {proposal.url}"
    )
    return {"gate_report": str(run / "gate-report.md"), "drift_report": str(html)}
