"""Prometheus answers into snapshots: one signal per feature and point in time."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from driftloop.policy.signals import FeatureSignal, Snapshot

__all__ = [
    "Sample",
    "Shape",
    "by_model",
    "finite",
    "merge",
    "milliseconds",
    "series_key",
    "timelines",
]

# (model, version, feature) -> (bins, reference rows, smallest non-zero reference share)
Shape = dict[tuple[str, str, str], tuple[int, float | None, float | None]]
Sample = tuple[dict[str, str], float | None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def finite(raw: Any) -> float | None:
    value = float(raw)
    return value if math.isfinite(value) else None  # NaN/Inf samples are ignored


def milliseconds(at: datetime) -> int:
    """Prometheus keeps milliseconds: ask for them exactly, to know which points come back."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


def series_key(metric: dict[str, str]) -> tuple[str, str, str]:
    return metric.get("model", ""), metric.get("version", ""), metric.get("feature", "")


def by_model(*kinds: list[Sample]) -> dict[str, tuple[list[Sample], ...]]:
    """Per model: its PSI, rows and (when asked for) Hellinger samples."""
    grouped: dict[str, tuple[list[Sample], ...]] = defaultdict(lambda: ([], [], [], []))
    for kind, values in enumerate(kinds):
        for metric, value in values:
            grouped[metric.get("model", "")][kind].append((metric, value))
    return grouped


def timelines(
    models: Sequence[str], answers: list[list[dict[str, Any]]], shape: Shape, start: datetime,
    end: datetime, step: timedelta,
) -> dict[str, list[Snapshot]]:  # fmt: skip
    """A snapshot at every step for every model, empty where no feature qualified (one
    shared empty mapping: thousands of quiet models cost a reference each)."""
    every = int(step.total_seconds()) * 1000
    times = range(
        milliseconds(start), milliseconds(end) + 1, every
    )  # the timestamps Prometheus evaluates at
    grid = [datetime.fromtimestamp(ms / 1000, UTC) for ms in times]
    index = {ms: i for i, ms in enumerate(times)}
    points: dict[str, list[tuple[list[Sample], ...]]] = {}
    for kind, series in enumerate(answers):
        for item in series:
            model = item["metric"].get("model", "")
            slots = points.setdefault(model, [([], [], []) for _ in grid])
            for timestamp, raw in item["values"]:
                slot = index.get(round(float(timestamp) * 1000))
                if slot is not None:
                    slots[slot][kind].append((item["metric"], finite(raw)))
    empty: dict[str, FeatureSignal] = {}
    result = {}
    for model in models:
        if model not in points:
            result[model] = [Snapshot(at, empty) for at in grid]
            continue
        result[model] = [
            merge(at, values, shape, model) for at, values in zip(grid, points[model], strict=True)
        ]
    return result


def merge(at: datetime, kinds: tuple[list[Sample], ...], shape: Shape, model: str) -> Snapshot:
    """One signal per feature: the version with the most rows (the stable one in a canary).
    ``kinds``: the PSI, rows and (if asked for) Hellinger samples."""
    psi, samples, hellinger, outside = (*kinds, [], [], [], [])[:4]
    counts = {series_key(m)[1:]: v for m, v in samples if v is not None}
    distances = {series_key(m)[1:]: v for m, v in hellinger if v is not None}
    shares = {series_key(m)[1:]: v for m, v in outside if v is not None}
    best: dict[str, FeatureSignal] = {}
    for metric, value in psi:
        if value is None:
            continue
        key = series_key(metric)[1:]
        bins, reference_rows, min_share = shape.get((model, *key), (None, None, None))
        signal = FeatureSignal(
            key[1], value, counts.get(key, 0.0), key[0], reference_rows, bins, min_share,
            distances.get(key), shares.get(key),
        )  # fmt: skip
        current = best.get(key[1])
        if current is None or signal.samples > current.samples:
            best[key[1]] = signal
    return Snapshot(at, best)
