"""Training data: loading, schema validation before fitting, and the time-based split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from driftloop.config import ModelSpec
from driftloop.data.frames import read_frame
from driftloop.drift.columns import category_label
from driftloop.errors import DataError

__all__ = [
    "TrainingData",
    "data_digest",
    "load_training_data",
    "prepare_features",
    "time_split",
    "validate",
]

MAX_NAN_RATE = 0.5
MIN_ROWS = 200


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame
    uri: str  # what was asked for (a path, a URI, a {date} template)
    sources: tuple[str, ...]  # what was read
    start: datetime | None = None  # the window, when the model has one
    end: datetime | None = None


def _day_partitions(template: str, start: datetime, end: datetime) -> list[str]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    days = (last - first).days + 1
    return [
        template.replace("{date}", (first + timedelta(days=i)).isoformat()) for i in range(days)
    ]


def _exists(uri: str) -> bool:
    if "://" not in uri:
        return Path(uri).is_file()
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(uri)
        return bool(fs.exists(path))
    except (OSError, ValueError, ImportError) as error:
        raise DataError(f"{uri}: cannot reach: {str(error).splitlines()[0]}") from None


def load_training_data(
    spec: ModelSpec, uri: str | None = None, until: datetime | None = None
) -> TrainingData:
    """The rows to train on: ``uri`` (default: model.yaml's data.train); with a window, only
    rows whose timestamp is in [until - window, until), reading only those days' partitions
    when the source is a {date} template. An empty window is a DataError, not a model."""
    uri = uri or spec.data.train
    window = spec.data.window
    if window is None or uri.startswith("demo://"):  # the examples' synthetic data: whole
        return TrainingData(read_frame(uri), uri, (uri,))
    end = until or datetime.now(UTC)
    start = end - window
    sources = _day_partitions(uri, start, end) if "{date}" in uri else [uri]
    present = [source for source in sources if _exists(source)]
    if not present:
        raise DataError(
            f"{uri}: no data in the training window {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} UTC ({len(sources)} partition(s) looked for)"
        )
    assert spec.timestamp is not None  # the spec requires one with a window
    required = [*spec.feature_names, spec.target, spec.timestamp]
    frames = []
    for source in present:  # a partition whose schema drifted is named, not papered over
        part = read_frame(source)
        missing = [name for name in required if name not in part.columns]
        if missing:
            raise DataError(f"{source}: missing column(s): {', '.join(missing)}")
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    stamps = pd.to_datetime(frame[spec.timestamp], utc=True, errors="coerce")
    inside = (stamps >= pd.Timestamp(start)) & (stamps < pd.Timestamp(end))
    frame = frame[inside.to_numpy()].reset_index(drop=True)
    return TrainingData(frame, uri, tuple(present), start, end)


def prepare_features(df: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The model's input frame: features in spec order, numeric as float, categorical as
    text labels (the same labels the drift profile uses; missing stays missing), text as
    strings (missing as the empty text)."""
    columns: dict[str, object] = {}
    for feature in spec.features:
        series = df[feature.name]
        if feature.type == "numeric":
            values = pd.to_numeric(series, errors="coerce").astype(float)
            columns[feature.name] = values.where(np.isfinite(values))
        elif feature.type == "text":  # the vectoriser takes strings; missing is no words
            columns[feature.name] = series.astype(object).where(series.notna(), "").astype(str)
        else:
            labels = series.map(category_label).astype(object)
            columns[feature.name] = labels.where(labels != "missing", None)
    return pd.DataFrame(columns, index=df.index)


def validate(
    df: pd.DataFrame,
    spec: ModelSpec,
    *,
    min_rows: int = MIN_ROWS,
    max_nan_rate: float = MAX_NAN_RATE,
    need_target: bool = True,
) -> None:
    """Fail before fitting, naming the column and the problem."""
    required = [*spec.feature_names, *([spec.target] if need_target else [])]
    missing = [name for name in required if name not in df.columns]
    if missing:
        raise DataError(f"missing column(s): {', '.join(missing)}")
    if spec.sensitive_attribute is not None and spec.sensitive_attribute not in df.columns:
        raise DataError(
            f"sensitive_attribute {spec.sensitive_attribute!r} is not a column: the fairness "
            "gates would judge nothing"
        )
    if len(df) < min_rows:
        raise DataError(f"{len(df)} rows; at least {min_rows} are needed")
    for feature in spec.features:
        rate = float(_unusable(df[feature.name], feature.name, feature.type).mean())
        if rate > max_nan_rate:
            raise DataError(
                f"column {feature.name!r}: {rate:.0%} missing (at most {max_nan_rate:.0%})"
            )
    if need_target:
        _validate_target(df[spec.target], spec)
    if spec.timestamp is not None:
        _validate_timestamps(df, spec.timestamp)


def _unusable(series: pd.Series, name: str, kind: str) -> np.ndarray:
    """Rows without a value; a value of the wrong kind is a DataError naming it."""
    if kind == "numeric":
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if not ptypes.is_numeric_dtype(series.dtype) and bad.any():
            raise DataError(f"column {name!r}: numeric expected, found {series[bad].iloc[0]!r}")
        numbers = converted.to_numpy(dtype=float)
        infinite = int(np.isinf(numbers).sum())
        if infinite:  # missing is allowed up to a share; infinity is never a measurement
            raise DataError(f"column {name!r}: {infinite} infinite value(s)")
        nan: np.ndarray = np.isnan(numbers)
        return nan
    present = series.notna().to_numpy()
    if kind == "text":
        wrong = present & ~series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if wrong.any():
            raise DataError(f"column {name!r}: text expected, found {series[wrong].iloc[0]!r}")
    absent: np.ndarray = ~present
    return absent


_BINARY = ({0, 1}, {False, True})


def _validate_target(target: pd.Series, spec: ModelSpec) -> None:
    name = spec.target
    if target.isna().any():
        raise DataError(f"target {name!r}: {int(target.isna().sum())} missing label(s)")
    if spec.task == "regression":
        values = pd.to_numeric(target, errors="coerce")
        if not ptypes.is_numeric_dtype(target.dtype) or not np.isfinite(values).all():
            raise DataError(f"target {name!r}: finite numbers expected for regression")
        return
    classes = set(target.unique().tolist())
    if len(classes) < 2:
        raise DataError(f"target {name!r}: only one class present")
    if spec.task == "binary_classification" and not any(classes <= known for known in _BINARY):
        shown = ", ".join(repr(c) for c in sorted(classes, key=str)[:5])
        raise DataError(
            f"target {name!r}: a binary model needs labels 0/1 (or false/true), found "
            f"{len(classes)} class(es): {shown}"
        )


def _validate_timestamps(df: pd.DataFrame, column: str) -> None:
    if column not in df.columns:
        raise DataError(f"missing timestamp column {column!r}")
    series = df[column]
    stamps = pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
    bad = stamps.isna() & series.notna()
    if bad.any():
        raise DataError(
            f"timestamp column {column!r}: {int(bad.sum())} value(s) are not dates, "
            f"e.g. {series[bad].iloc[0]!r}"
        )
    if series.isna().any():
        raise DataError(f"timestamp column {column!r}: {int(series.isna().sum())} missing")


def time_split(
    df: pd.DataFrame, spec: ModelSpec, eval_fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oldest rows to train, newest ``eval_fraction`` to evaluate (by timestamp if any)."""
    ordered = df.sort_values(spec.timestamp, kind="stable") if spec.timestamp else df
    cut = round(len(ordered) * (1 - eval_fraction))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def data_digest(df: pd.DataFrame) -> str:
    """sha256 of the frame's content (values and column names), order-sensitive."""
    hashed = pd.util.hash_pandas_object(df, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, df.columns)).encode())
    return f"sha256:{digest.hexdigest()}"
