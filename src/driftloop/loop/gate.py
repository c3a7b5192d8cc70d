"""Gating a candidate: load it and the champion, evaluate both on the same data, apply the
gate policy (the decision itself is pure: driftloop.gates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from driftloop.adapters.registry import ModelRegistry
from driftloop.config import load_gate_policy, load_model
from driftloop.data.frames import read_frame
from driftloop.errors import DataError
from driftloop.gates import Evaluation, GateReport, evaluate_gates
from driftloop.gates import metrics as gate_metrics
from driftloop.train.assess import evaluate_bundle, paired_latency
from driftloop.train.bundle import ModelBundle, load_bundle
from driftloop.train.data import time_split, validate

__all__ = ["gate"]


def _summaries(evaluations: dict[str, Evaluation], task: str) -> dict[str, dict[str, float]]:
    names = (
        ("roc_auc", "accuracy", "f1_macro", "brier")
        if task != "regression"
        else ("r2", "rmse", "mae")
    )
    summary = {}
    for dataset, e in evaluations.items():
        values: dict[str, float] = {"rows": float(e.rows)}
        for name in names:
            if name in ("roc_auc", "brier") and task != "binary_classification":
                continue
            values[name] = gate_metrics.metric_value(name, e.y_true, e.y_pred, e.score)
        summary[dataset] = values
    return summary


def gate(
    model: str,
    candidate: dict[str, Any],
    registry: ModelRegistry,
    policy_path: Path,
    models_dir: Path,
    data_uri: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> GateReport:
    """``progress`` hears each step as it starts (the demo prints them)."""
    spec = load_model(model, models_dir)
    if candidate["model"] != spec.name:
        raise DataError(f"candidate is for {candidate['model']!r}, not {spec.name!r}")
    settings = load_gate_policy(policy_path).settings_for(spec.name)
    uri = data_uri or candidate.get("data_uri") or spec.data.train
    frame = read_frame(uri)
    validate(frame, spec, min_rows=1)
    datasets: dict[str, pd.DataFrame] = {"recent": time_split(frame, spec)[1]}
    if settings.golden_set:
        golden = read_frame(settings.golden_set)
        validate(golden, spec, min_rows=1)
        datasets["golden"] = golden

    cand_path, _ = registry.download(candidate["model_uri"])
    cand_bundle = load_bundle(cand_path, str(candidate["version"]))
    champion_version = registry.alias_version(spec.name, "champion")
    champ_bundle: ModelBundle | None = None
    if champion_version is not None and champion_version != str(candidate["version"]):
        champ_path, _ = registry.download(f"models:/{spec.name}/{champion_version}")
        champ_bundle = load_bundle(champ_path, champion_version)
    elif champion_version is not None:
        champion_version = None  # the candidate is the champion already: nothing to compare

    rows = ", ".join(f"{name} {len(data)} rows" for name, data in datasets.items())
    against = f"champion v{champion_version}" if champion_version else "no champion"
    progress(f"scoring candidate v{candidate['version']} and {against} on {rows}")
    cand_eval = {name: evaluate_bundle(cand_bundle, data, name) for name, data in datasets.items()}
    champ_eval = (
        {name: evaluate_bundle(champ_bundle, data, name) for name, data in datasets.items()}
        if champ_bundle
        else None
    )
    if champ_bundle is not None and champ_eval is not None:
        progress(
            f"timing single-row latency, interleaved: {settings.latency_runs} rounds x "
            f"{settings.latency_requests} rows per model"
        )
        latency = paired_latency(
            champ_bundle,
            cand_bundle,
            datasets["recent"],
            settings.latency_runs,
            settings.latency_requests,
            settings.confidence,
        )
        first = next(iter(datasets))
        champ_eval[first] = replace(
            champ_eval[first], latency_p95=latency.p95[0], latency_fast=latency.fast[0]
        )
        cand_eval[first] = replace(
            cand_eval[first], latency_p95=latency.p95[1], latency_ratio=latency.ratio,
            latency_fast=latency.fast[1],
        )  # fmt: skip
    positive = cand_bundle.pipeline.classes_[-1] if spec.task != "regression" else 1
    progress(f"judging the gates ({settings.bootstrap_samples} paired bootstrap resamples)")
    results = evaluate_gates(spec.task, cand_eval, champ_eval, settings, positive)
    evaluation: dict[str, dict[str, Any]] = {"candidate": _summaries(cand_eval, spec.task)}
    if champ_eval:
        evaluation["champion"] = _summaries(champ_eval, spec.task)
    evaluation["data"] = {
        "recent": uri,
        **({"golden": settings.golden_set} if settings.golden_set else {}),
    }
    report = GateReport(spec.name, str(candidate["version"]), champion_version, results, evaluation)
    if report.passed:  # staging serves @challenger: only candidates that passed every gate
        registry.set_alias(spec.name, "challenger", str(candidate["version"]))
    return report
