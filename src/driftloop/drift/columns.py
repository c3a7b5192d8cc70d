"""Turning DataFrame columns into the values the tests see: floats or category labels."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from driftloop.errors import DataError

__all__ = [
    "MISSING",
    "OTHER",
    "ColumnType",
    "FeatureType",
    "category_label",
    "infer_types",
    "numeric_values",
]

FeatureType = Literal["numeric", "categorical"]  # how a profiled feature is binned
ColumnType = Literal["numeric", "categorical", "text"]  # text: profiled through descriptors
MISSING = "missing"
OTHER = "__other__"


TEXT_SAMPLE = 2000  # rows looked at to tell free text from categories


def is_free_text(series: pd.Series) -> bool:
    """Mostly unique, multi-word strings: messages, not a categorical with a value per row.
    Judged on a sample of the non-missing values (cheap on a million rows)."""
    values = series.dropna()
    values = values.iloc[:TEXT_SAMPLE]
    if len(values) < 20 or not all(isinstance(v, str) for v in values):
        return False
    unique_share = values.nunique() / len(values)
    words = np.median([len(str(v).split()) for v in values])
    return bool(unique_share > 0.5 and words >= 3)


def infer_types(df: pd.DataFrame) -> dict[str, ColumnType]:
    """Numeric dtypes (not bool) are numeric; free text (``is_free_text``) is text; other
    strings, categories and bools are categorical.

    Date and time columns are not features and are left out.
    """
    types: dict[str, ColumnType] = {}
    for name, dtype in df.dtypes.items():
        if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype):
            continue
        if ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
            types[str(name)] = "numeric"
        elif isinstance(dtype, pd.CategoricalDtype | pd.StringDtype) or ptypes.is_object_dtype(
            dtype
        ):  # parquet text read as categories (read_frame) is judged by its values too
            types[str(name)] = "text" if is_free_text(df[name]) else "categorical"
        else:
            types[str(name)] = "categorical"
    return types


def numeric_values(series: pd.Series, feature: str, side: str) -> np.ndarray:
    """Float values with NaN for missing; +/-inf count as missing too (documented)."""
    if ptypes.is_bool_dtype(series.dtype) or ptypes.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            example = series[bad].iloc[0]
            raise DataError(
                f"feature {feature!r} is numeric but {side} has non-numeric values "
                f"(e.g. {example!r} in {int(bad.sum())} row(s))"
            )
        values = converted.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    # A new array only when needed: to_numpy() may be a view of the caller's frame.
    return values if finite.all() else np.where(finite, values, np.nan)


def category_label(value: object) -> str:
    """The bin label of one raw value: integral floats print as integers so that a column
    upcast to float by a missing value (1 -> 1.0) keeps its categories."""
    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return MISSING
    if value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    text = str(value)
    return MISSING if text == MISSING else text


def category_counts(series: pd.Series) -> dict[str, int]:
    """Counts per category label, computed on the distinct raw values only (fast)."""
    counts: dict[str, int] = {}
    for value, count in series.value_counts(dropna=False, sort=False).items():
        if count == 0:  # a categorical's unused category
            continue
        label = category_label(value)
        counts[label] = counts.get(label, 0) + int(count)
    return counts
