"""Gating a candidate: load it and the champion, evaluate both on the same data, apply the
gate policy (the decision itself is pure: driftloop.gates)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from driftloop.adapters.bandit import scan_folder
from driftloop.adapters.registry import ModelRegistry
from driftloop.attestation import bundle_digest
from driftloop.card import with_gate
from driftloop.config import GateSettings, ModelSpec, load_gate_policy, load_model
from driftloop.config.gate_policy import METRICS_FOR_TASK
from driftloop.data.frames import read_frame
from driftloop.errors import ConfigError, DataError
from driftloop.gates import Evaluation, GateReport, evaluate_gates
from driftloop.gates import metrics as gate_metrics
from driftloop.gates.breakdown import breakdown, metric_names
from driftloop.gates.report import GateResult
from driftloop.gates.security import Finding, findings_from_dict, scan_dict, security_gate
from driftloop.loop.card import update_card
from driftloop.train.assess import evaluate_bundle, paired_latency
from driftloop.train.bundle import ModelBundle, load_bundle
from driftloop.train.data import time_split, validate

__all__ = [
    "GATE_REPORT_ARTIFACT",
    "GATE_TAGS",
    "VERSION_NUMBER",
    "gate",
    "record_gate_report",
    "recorded_gate_report",
    "scored_version",
]

# The report is stored with the version it judged (an artifact of its run, pointed at by a
# tag), so promote can refuse a pinned version that never passed a gate of its own.
GATE_REPORT_ARTIFACT = "driftloop/gate-report.json"
GATE_TAGS = ("driftloop.gate", "driftloop.gate_report", "driftloop.gate_report_sha256")
# The Bandit scan of the model's code, stored with the version it was judged for.
SCAN_ARTIFACT = "driftloop/bandit.json"
SCAN_TAG = "driftloop.bandit"
VERSION_NUMBER = re.compile(r"^[1-9][0-9]{0,9}$")  # a registry version, as CLIs take it


def scored_version(candidate: dict[str, Any], model: str, registry: ModelRegistry) -> str:
    """The one registry version a candidate file names, checked before any work: its
    ``version`` and ``model_uri`` must agree and the version must exist, so the gate never
    scores one version and moves an alias to another."""
    version = str(candidate.get("version", ""))
    if isinstance(candidate.get("version"), bool) or not VERSION_NUMBER.match(version):
        raise DataError(f"candidate version {candidate.get('version')!r} is not a version number")
    expected = f"models:/{model}/{version}"
    if candidate.get("model_uri") != expected:
        raise DataError(
            f"candidate model_uri {candidate.get('model_uri')!r} disagrees with its version "
            f"{version} (expected {expected!r}): refusing to score one version and alias another"
        )
    if registry.version_run(model, version) is None:
        raise DataError(f"candidate names {model} version {version}, which is not registered")
    return version


def recorded_gate_report(
    registry: ModelRegistry, model: str, version: str
) -> tuple[dict[str, Any], str] | None:
    """The gate report stored with ``version`` and its sha256, or None when it has none."""
    pointer = registry.version_tags(model, version).get("driftloop.gate_report")
    text = registry.read_artifact(pointer) if pointer else None
    if text is None:
        return None
    try:
        report = json.loads(text)
    except ValueError:
        return None
    if not isinstance(report, dict):
        return None
    return report, hashlib.sha256(text.encode()).hexdigest()


def record_gate_report(registry: ModelRegistry, report: dict[str, Any]) -> dict[str, str]:
    """Store a gate report (``GateReport.to_dict()``) with the version it judged."""
    model, version = str(report["model"]), str(report["candidate_version"])
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    uri = registry.write_version_artifact(model, version, GATE_REPORT_ARTIFACT, text)
    tags = {
        "driftloop.gate": "passed" if report.get("passed") is True else "failed",
        "driftloop.gate_report": uri,
        "driftloop.gate_report_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    registry.set_version_tags(model, version, tags)
    return tags


def _stored_scan(registry: ModelRegistry, model: str, version: str) -> list[Finding] | None:
    """The Bandit scan stored with ``version``; None when it has none (or an unreadable
    one: nothing then vouches for any finding)."""
    pointer = registry.version_tags(model, version).get(SCAN_TAG)
    text = registry.read_artifact(pointer) if pointer else None
    try:
        return findings_from_dict(json.loads(text)) if text else None
    except (TypeError, ValueError, KeyError):
        return None


def _security(
    spec: ModelSpec, models_dir: Path, registry: ModelRegistry, version: str,
    champion: str | None, settings: GateSettings,
) -> tuple[GateResult, dict[str, Any]]:  # fmt: skip
    """Scan the model's own code, store the scan with the candidate (it is the baseline once
    the candidate is champion) and judge it against the champion's stored scan."""
    findings = scan_folder(models_dir / spec.name)
    scan = scan_dict(findings, "bandit")
    text = json.dumps(scan, indent=2, sort_keys=True) + "\n"
    uri = registry.write_version_artifact(spec.name, version, SCAN_ARTIFACT, text)
    registry.set_version_tags(spec.name, version, {SCAN_TAG: uri})
    baseline = _stored_scan(registry, spec.name, champion) if champion else None
    scan["champion_findings"] = None if baseline is None else len(baseline)
    return security_gate(findings, baseline, settings.bandit_severity), scan


def _summaries(evaluations: dict[str, Evaluation], task: str) -> dict[str, dict[str, float]]:
    summary = {}
    for dataset, e in evaluations.items():
        values: dict[str, float] = {"rows": float(e.rows)}
        for name in metric_names(task):
            values[name] = gate_metrics.metric_value(name, e.y_true, e.y_pred, e.score)
        summary[dataset] = values
    return summary


def _evaluation(
    task: str,
    candidate: dict[str, Evaluation],
    champion: dict[str, Evaluation] | None,
    data: dict[str, str],
    confidence: float,
    positive: object,
) -> dict[str, dict[str, Any]]:
    """The report's evaluation: both models' metrics per dataset, the data, and for the
    model card the candidate's metrics with intervals, per class and per group."""
    evaluation: dict[str, dict[str, Any]] = {"candidate": _summaries(candidate, task)}
    if champion:
        evaluation["champion"] = _summaries(champion, task)
    evaluation["data"] = data
    evaluation["breakdown"] = {
        name: breakdown(e, task, confidence=confidence, positive=positive)
        for name, e in candidate.items()
    }
    return evaluation


def _settings(spec: ModelSpec, path: Path) -> GateSettings:
    """The model's gate settings, with a primary metric its task has (r2 would "score" a
    classifier's labels)."""
    policy = load_gate_policy(path)
    settings = policy.settings_for(spec.name)
    metrics = METRICS_FOR_TASK[spec.task]
    if settings.primary_metric not in ("auto", *metrics):
        own = getattr(policy.models.get(spec.name), "primary_metric", None)
        raise ConfigError(
            str(path), f"models.{spec.name}.primary_metric" if own else "defaults.primary_metric",
            f"{spec.name} is a {spec.task} model: its primary metric is one of "
            f"{', '.join(metrics)}",
        )  # fmt: skip
    return settings


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
    if candidate.get("model") != spec.name:
        raise DataError(f"candidate is for {candidate.get('model')!r}, not {spec.name!r}")
    settings = _settings(spec, policy_path)  # local files first
    version = scored_version(candidate, spec.name, registry)
    uri = data_uri or candidate.get("data_uri") or spec.data.train
    frame = read_frame(uri)
    validate(frame, spec, min_rows=1)
    datasets: dict[str, pd.DataFrame] = {"recent": time_split(frame, spec)[1]}
    if settings.golden_set:
        golden = read_frame(settings.golden_set)
        validate(golden, spec, min_rows=1)
        datasets["golden"] = golden

    cand_path, _ = registry.download(f"models:/{spec.name}/{version}")
    digest = f"sha256:{bundle_digest(cand_path)}"  # of the files scored, before loading them
    cand_bundle = load_bundle(cand_path, version)
    champion_version = registry.alias_version(spec.name, "champion")
    champ_bundle: ModelBundle | None = None
    if champion_version is not None and champion_version != version:
        champ_path, _ = registry.download(f"models:/{spec.name}/{champion_version}")
        champ_bundle = load_bundle(champ_path, champion_version)
    elif champion_version is not None:
        champion_version = None  # the candidate is the champion already: nothing to compare

    rows = ", ".join(f"{name} {len(data)} rows" for name, data in datasets.items())
    against = f"champion v{champion_version}" if champion_version else "no champion"
    progress(f"scoring candidate v{version} and {against} on {rows}")
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
    progress(f"scanning {models_dir / spec.name} with Bandit")
    security, scan = _security(spec, models_dir, registry, version, champion_version, settings)
    results.append(security)
    data = {"recent": uri, **({"golden": settings.golden_set} if settings.golden_set else {})}
    evaluation = _evaluation(spec.task, cand_eval, champ_eval, data, settings.confidence, positive)
    evaluation["security"] = scan
    report = GateReport(
        spec.name, version, champion_version, results, evaluation, candidate_digest=digest
    )
    recorded = report.to_dict()
    record_gate_report(registry, recorded)
    update_card(registry, spec.name, version, lambda card: with_gate(card, recorded))
    if report.passed:  # staging serves @challenger: only candidates that passed every gate
        registry.set_alias(spec.name, "challenger", version)
    return report
