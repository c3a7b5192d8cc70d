"""Training data: loading, schema validation before fitting, and the time-based split."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from driftloop.config import ModelSpec
from driftloop.datasets import read_frame
from driftloop.drift.columns import category_label
from driftloop.errors import DataError

__all__ = ["data_digest", "load_training_data", "prepare_features", "time_split", "validate"]

MAX_NAN_RATE = 0.5
MIN_ROWS = 200


def load_training_data(spec: ModelSpec, uri: str | None = None) -> pd.DataFrame:
    return read_frame(uri or spec.data.train)


def prepare_features(df: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The model's input frame: features in spec order, numeric as float, categorical as
    text labels (the same labels the drift profile uses; missing stays missing)."""
    columns: dict[str, object] = {}
    for feature in spec.features:
        series = df[feature.name]
        if feature.type == "numeric":
            values = pd.to_numeric(series, errors="coerce").astype(float)
            columns[feature.name] = values.where(np.isfinite(values))
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
    if len(df) < min_rows:
        raise DataError(f"{len(df)} rows; at least {min_rows} are needed")
    for feature in spec.features:
        series = df[feature.name]
        if feature.type == "numeric" and not ptypes.is_numeric_dtype(series.dtype):
            converted = pd.to_numeric(series, errors="coerce")
            bad = converted.isna() & series.notna()
            if bad.any():
                raise DataError(
                    f"column {feature.name!r}: numeric expected, found {series[bad].iloc[0]!r}"
                )
        rate = float(series.isna().mean())
        if rate > max_nan_rate:
            raise DataError(
                f"column {feature.name!r}: {rate:.0%} missing (at most {max_nan_rate:.0%})"
            )
    if need_target:
        target = df[spec.target]
        if target.isna().any():
            raise DataError(f"target {spec.target!r}: {int(target.isna().sum())} missing label(s)")
        if spec.task != "regression" and target.nunique() < 2:
            raise DataError(f"target {spec.target!r}: only one class present")
        if spec.task == "regression" and not ptypes.is_numeric_dtype(target.dtype):
            raise DataError(f"target {spec.target!r}: numeric expected for regression")
    if spec.timestamp is not None and spec.timestamp not in df.columns:
        raise DataError(f"missing timestamp column {spec.timestamp!r}")


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
