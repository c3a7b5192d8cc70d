"""Seeded, deterministic demo data: a reference sample and labelled, timestamped streams.

``reference(model)`` is the world before any change (what the champion is trained on).
``stream(model, scenario)`` is traffic after the reference period, hour by hour, in which the
scenario's change starts at ``ONSET_HOURS``. ``golden(model, scenario)`` is a trusted labelled
sample of the world at the end of the stream (clean labels, whatever ``degraded`` did).

Scenarios (see ``SCENARIOS``): none, persistent, transient, gradual, concept, low_traffic,
schema, degraded, covariate, label_delay and glitch. Labels of ``label_delay`` arrive a day
after the rows are scored (``label_arrival``); ``glitch`` sends one bad batch of labels (20
minutes inverted at hour 20), as a broken upstream job does. ``degraded`` is ``persistent`` whose
post-onset labels come from a broken join (shuffled within a segment), so a model retrained
on it truly does not beat the champion on clean labels; ``degraded=True`` applies the same
break to any scenario.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from driftloop.errors import UsageError
from driftloop.synthetic.generators import GENERATORS, Generator

__all__ = [
    "ONSET_HOURS",
    "SCENARIOS",
    "STREAM_START",
    "Scenario",
    "golden",
    "label_arrival",
    "reference",
    "stream",
]

STREAM_START = datetime(2026, 1, 5, tzinfo=UTC)
REFERENCE_DAYS = 14
ONSET_HOURS = 12.0
TRANSIENT_HOURS = 2.0
GLITCH_AT_HOURS, GLITCH_HOURS = 20.0, 1 / 3
GRADUAL_RAMP_HOURS = 24.0
TIMESTAMP = "event_time"

Profile = Callable[[np.ndarray], np.ndarray]


def _off(hours: np.ndarray) -> np.ndarray:
    return np.zeros_like(hours)


def _step(hours: np.ndarray) -> np.ndarray:
    return (hours >= ONSET_HOURS).astype(float)


def _pulse(hours: np.ndarray) -> np.ndarray:
    return ((hours >= ONSET_HOURS) & (hours < ONSET_HOURS + TRANSIENT_HOURS)).astype(float)


def _glitch(hours: np.ndarray) -> np.ndarray:
    return ((hours >= GLITCH_AT_HOURS) & (hours < GLITCH_AT_HOURS + GLITCH_HOURS)).astype(float)


def _ramp(hours: np.ndarray) -> np.ndarray:
    return np.clip((hours - ONSET_HOURS) / GRADUAL_RAMP_HOURS, 0.0, 1.0)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    shift: Profile = _off
    concept: Profile = _off
    rows_per_hour: int = 1000
    schema_break: bool = False
    degraded: bool = False
    label_delay_hours: float = 0.0
    inverted_labels: Profile = _off  # 1 where a label arrives inverted


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("none", "No change: the stream looks like the reference."),
        Scenario(
            "persistent",
            "A lasting change from hour 12 (churn: marketing push, charges +18%).",
            _step,
            _step,
        ),
        Scenario(
            "transient", "The same change for 2 hours from hour 12, then back.", _pulse, _pulse
        ),
        Scenario("gradual", "The change ramps in over 24 hours from hour 12.", _ramp, _ramp),
        Scenario("concept", "P(y|x) changes from hour 12; the features do not.", _off, _step),
        Scenario("covariate", "The features change from hour 12; P(y|x) does not.", _step),
        Scenario(
            "low_traffic",
            "The persistent change at 10 rows an hour.",
            _step,
            _step,
            rows_per_hour=10,
        ),
        Scenario(
            "schema",
            "A column disappears and unseen categories appear from hour 12.",
            schema_break=True,
        ),
        Scenario(
            "degraded",
            "The persistent change, with post-onset labels from a broken join.",
            _step,
            _step,
            degraded=True,
        ),
        Scenario(
            "label_delay",
            "The persistent change, with every label arriving 24 hours after its row.",
            _step,
            _step,
            label_delay_hours=24.0,
        ),
        Scenario(
            "glitch",
            "No change, but one batch of labels (20 minutes at hour 20) arrives inverted.",
            inverted_labels=_glitch,
        ),
    )
}


def _generator(model: str) -> Generator:
    try:
        return GENERATORS[model]
    except KeyError:
        raise UsageError(
            f"unknown demo model {model!r}; choose from {sorted(GENERATORS)}"
        ) from None


def _scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}") from None


def _rng(seed: int, *parts: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and names, stable across processes (no hash())."""
    return np.random.default_rng([seed, *(zlib.crc32(p.encode()) for p in parts)])


def _timestamps(hours: np.ndarray) -> pd.Series:
    start = pd.Timestamp(STREAM_START)
    return pd.Series(start + pd.to_timedelta(hours, unit="h")).dt.floor("ms")


def reference(model: str, rows: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Labelled data from the ``REFERENCE_DAYS`` before the stream, with no change."""
    generator = _generator(model)
    rng = _rng(seed, model, "reference")
    hours = np.sort(rng.uniform(-24.0 * REFERENCE_DAYS, 0.0, rows))
    df = generator.features(rng, np.zeros(rows))
    df[generator.target] = generator.labels(rng, df, np.zeros(rows))
    df.insert(0, TIMESTAMP, _timestamps(hours))
    return df


def stream(
    model: str,
    scenario: str,
    *,
    hours: int = 48,
    rows_per_hour: int | None = None,
    seed: int = 1,
    degraded: bool = False,
) -> pd.DataFrame:
    """Labelled, timestamped traffic for ``hours`` hours from ``STREAM_START``."""
    generator = _generator(model)
    spec = _scenario(scenario)
    if hours < 1:
        raise UsageError("hours must be at least 1")
    per_hour = spec.rows_per_hour if rows_per_hour is None else rows_per_hour
    rng = _rng(seed, model, scenario)
    hour_index = np.repeat(np.arange(hours, dtype=float), per_hour)
    elapsed = hour_index + rng.random(len(hour_index))
    elapsed.sort()
    df = generator.features(rng, spec.shift(elapsed))
    df[generator.target] = generator.labels(rng, df, spec.concept(elapsed))
    inverted = spec.inverted_labels(elapsed) > 0
    if inverted.any():
        df[generator.target] = _invert(df[generator.target], inverted)
    after = elapsed >= ONSET_HOURS
    if spec.degraded or degraded:
        _break_label_join(rng, df, generator, after)
    if spec.schema_break:
        df = _break_schema(rng, df, generator, after)
    df.insert(0, TIMESTAMP, _timestamps(elapsed))
    return df


def label_arrival(scenario: str, frame: pd.DataFrame) -> pd.Series:
    """When each row's label reaches ``/feedback``: its event time plus the scenario's delay."""
    delay = pd.Timedelta(hours=_scenario(scenario).label_delay_hours)
    return frame[TIMESTAMP] + delay


def golden(model: str, scenario: str, rows: int = 5_000, seed: int = 2) -> pd.DataFrame:
    """Clean labelled data from the regime the stream ends in."""
    generator = _generator(model)
    spec = _scenario(scenario)
    rng = _rng(seed, model, scenario, "golden")
    end = np.full(rows, 10_000.0)  # far past onset: the final regime of every profile
    df = generator.features(rng, spec.shift(end))
    df[generator.target] = generator.labels(rng, df, spec.concept(end))
    df.insert(0, TIMESTAMP, _timestamps(end))
    return df


def _invert(target: pd.Series, rows: np.ndarray) -> pd.Series:
    """The wrong label for ``rows``: 1 - y for 0/1 (and numbers), else the next class."""
    if pd.api.types.is_numeric_dtype(target.dtype):
        return target.where(~rows, 1 - target)
    classes = sorted(target.unique())
    following = dict(zip(classes, classes[1:] + classes[:1], strict=True))
    return target.where(~rows, target.map(following))


def _break_label_join(
    rng: np.random.Generator, df: pd.DataFrame, generator: Generator, after: np.ndarray
) -> None:
    """Shuffle labels within each segment after onset: labels keep their base rates per
    segment but lose their link to every other feature (what a join on the wrong key does)."""
    target = df[generator.target].to_numpy().copy()
    segments = df[generator.segment].to_numpy()
    for value in np.unique(segments[after]):
        rows = np.flatnonzero(after & (segments == value))
        target[rows] = target[rng.permutation(rows)]
    df[generator.target] = target


def _break_schema(
    rng: np.random.Generator, df: pd.DataFrame, generator: Generator, after: np.ndarray
) -> pd.DataFrame:
    column, unseen = generator.new_category
    values = df[column].to_numpy().copy()
    values[after & (rng.random(len(df)) < 0.3)] = unseen
    df[column] = values
    return df.drop(columns=[generator.dropped_column])
