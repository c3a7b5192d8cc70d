"""Recorded drift history for a real Prometheus: the series the recording rules would have
written for a scenario, computed with the drift engine and backfilled with promtool."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tests.support.bundles import ROOT

from driftloop.config import load_model
from driftloop.drift import build_profile, stats
from driftloop.synthetic import scenarios

STEP_SECONDS = 300


@dataclass(frozen=True)
class Series:
    name: str
    labels: dict[str, str]
    points: list[tuple[int, float]]


def recorded_series(
    model: str, scenario: str, label: str, hours: int = 48, window_hours: int = 1,
    reference: bool = False, window_minutes: int | None = None, **stream: object,
) -> list[Series]:  # fmt: skip
    """driftloop:feature_psi:1h and driftloop:feature_samples:1h every 5 minutes, for the
    scenario's stream against a profile of the reference data, labelled model=``label``;
    with ``reference``, also the server's reference gauges (bin ratios, reference rows);
    with ``window_minutes``, over that many minutes (``:5m``) instead of hours."""
    span = window_minutes * 60 if window_minutes else window_hours * 3600
    suffix = f"{window_minutes}m" if window_minutes else f"{window_hours}h"
    spec = load_model(model, ROOT / "models")
    profile = build_profile(scenarios.reference(model), spec.feature_types, model=model)
    frame = scenarios.stream(model, scenario, hours=hours, **stream)  # type: ignore[arg-type]
    seconds = (
        (frame["event_time"] - pd.Timestamp(scenarios.STREAM_START)).dt.total_seconds().to_numpy()
    )
    start = int(pd.Timestamp(scenarios.STREAM_START).timestamp())
    ends = np.arange(span, hours * 3600 + 1, STEP_SECONDS)
    series: list[Series] = []
    for name, feature in profile.features.items():
        if name not in frame.columns:
            continue
        index = feature.bin_index(frame[name])
        one_hot = np.zeros((len(frame), len(feature.bins)))
        one_hot[np.arange(len(frame)), index] = 1
        cumulative = np.vstack([np.zeros(len(feature.bins)), np.cumsum(one_hot, axis=0)])
        upper = np.searchsorted(seconds, ends, side="right")
        lower = np.searchsorted(seconds, ends - span, side="right")
        psi_points, sample_points = [], []
        for end, hi, lo in zip(ends, upper, lower, strict=True):
            counts = cumulative[hi] - cumulative[lo]
            total = counts.sum()
            if total == 0:
                continue
            psi = stats.psi(np.asarray(feature.counts), counts).score
            psi_points.append((start + int(end), psi))
            sample_points.append((start + int(end), float(total)))
        labels = {"model": label, "version": "1", "feature": name}
        series.append(Series(f"driftloop:feature_psi:{suffix}", labels, psi_points))
        series.append(Series(f"driftloop:feature_samples:{suffix}", labels, sample_points))
        if reference:
            for bin_, ratio in zip(feature.bins, feature.ratios, strict=True):
                points = [(ts, float(ratio)) for ts, _ in sample_points]
                series.append(
                    Series("driftloop_feature_reference_ratio", {**labels, "bin": bin_}, points)
                )
    if reference:
        rows = [(start + int(end), float(profile.n_rows)) for end in ends]
        series.append(Series("driftloop_reference_rows", {"model": label, "version": "1"}, rows))
    return series


def openmetrics(series: Iterable[Series]) -> str:
    by_name: dict[str, list[Series]] = {}
    for s in series:
        by_name.setdefault(s.name, []).append(s)
    lines = []
    for name, items in by_name.items():
        lines.append(f"# TYPE {name} gauge")
        for s in items:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            lines += [f"{name}{{{labels}}} {value!r} {ts}" for ts, value in s.points]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(series: Iterable[Series], tsdb: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool not found (scripts/setup.sh installs prometheus)"
    source = tsdb.parent / "history.om"
    source.write_text(openmetrics(series))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        check=True, capture_output=True,
    )  # fmt: skip


def quality_series(
    model: str, scenarios_and_labels: dict[str, str], hours: int = 48, window_hours: int = 1
) -> list[Series]:
    """The quality series the recording rules would have written for a model trained on the
    reference data, every 5 minutes over a ``window_hours`` window: realised AUC from labels
    as they arrive (``scenarios.label_arrival``) with the labelled rows behind it, and the
    label-free estimate from all scored rows; labelled model=<label> per scenario."""
    from driftloop.drift.binned_quality import binned_auc, expected_positives
    from driftloop.train.data import prepare_features
    from driftloop.train.fit import fit_model, model_outputs

    spec = load_model(model, ROOT / "models")
    fitted = fit_model(spec, scenarios.reference(model))
    prediction = fitted.profile.prediction
    assert prediction is not None
    calibrated = np.asarray(fitted.profile.calibration)
    start = pd.Timestamp(scenarios.STREAM_START)
    ends = np.arange(window_hours * 3600, hours * 3600 + 1, STEP_SECONDS)
    series: list[Series] = []
    for scenario, label in scenarios_and_labels.items():
        frame = scenarios.stream(model, scenario, hours=hours)
        _, scores = model_outputs(fitted.pipeline, prepare_features(frame, spec), spec)
        bins = prediction.index_of_prepared(np.asarray(scores, dtype=float))
        positive = frame[spec.target].to_numpy() == 1
        scored_at = (frame["event_time"] - start).dt.total_seconds().to_numpy()
        labelled_at = (scenarios.label_arrival(scenario, frame) - start).dt.total_seconds()
        order = np.argsort(labelled_at.to_numpy(), kind="stable")
        labelled_sorted = labelled_at.to_numpy()[order]
        names = {
            "driftloop:model_roc_auc": [], "driftloop:feedback_scored_samples": [],
            "driftloop:model_estimated_roc_auc": [], "driftloop:prediction_samples": [],
        }  # type: dict[str, list[tuple[int, float]]]  # fmt: skip
        for end in ends:
            ts = int(start.timestamp()) + int(end)
            lo, hi = np.searchsorted(labelled_sorted, [end - window_hours * 3600, end], "right")
            rows = order[lo:hi]
            n = len(prediction.bins)
            auc = binned_auc(
                np.bincount(bins[rows][~positive[rows]], minlength=n),
                np.bincount(bins[rows][positive[rows]], minlength=n),
            )
            if auc is not None:
                names["driftloop:model_roc_auc"].append((ts, auc))
                names["driftloop:feedback_scored_samples"].append((ts, float(len(rows))))
            scored = (scored_at > end - window_hours * 3600) & (scored_at <= end)
            counts = np.bincount(bins[scored], minlength=n)
            expected = expected_positives(counts, calibrated)
            estimate = binned_auc(counts - expected, expected)
            if estimate is not None and counts.sum() > 0:
                names["driftloop:model_estimated_roc_auc"].append((ts, estimate))
                names["driftloop:prediction_samples"].append((ts, float(counts.sum())))
        labels = {"model": label, "version": "1"}
        series += [
            Series(f"{name}:{window_hours}h", labels, points) for name, points in names.items()
        ]
    return series
