"""A faster scoring path for the pipelines driftloop builds itself.

A scikit-learn ColumnTransformer costs ~1 ms per call on a one-row DataFrame, more than the
gradient-boosted model it feeds. For driftloop's native-categorical pipelines (numeric
passthrough + OrdinalEncoder, then HistGradientBoosting*), the same matrix is a column stack
and a dict lookup per categorical value. ``compile_fast_path`` returns None for any other
pipeline, which then runs as is; tests check both paths give identical outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from driftloop.config import ModelSpec
from driftloop.train.pipeline import NATIVE_CATEGORICAL

__all__ = ["FastPath", "compile_fast_path"]

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class FastPath:
    numeric: tuple[str, ...]
    categorical: tuple[tuple[str, dict[str, float]], ...]
    model: object

    def matrix(self, columns: Columns) -> np.ndarray:
        n = len(next(iter(columns.values())))
        out = np.empty((n, len(self.numeric) + len(self.categorical)), dtype=float)
        for i, name in enumerate(self.numeric):
            out[:, i] = columns[name]
        offset = len(self.numeric)
        for j, (name, codes) in enumerate(self.categorical):
            # unseen and missing (None) both map to NaN, as the fitted OrdinalEncoder does
            out[:, offset + j] = [codes.get(value, np.nan) for value in columns[name]]
        return out


class _NotCompilableError(Exception):
    """The pipeline is not one driftloop built with native categories."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotCompilableError


def _is_identity(transformer: object) -> bool:
    # a fitted ColumnTransformer stores "passthrough" as an identity FunctionTransformer
    if isinstance(transformer, str):
        return transformer == "passthrough"
    return isinstance(transformer, FunctionTransformer) and transformer.func is None


def _compile(pipeline: Pipeline, spec: ModelSpec) -> FastPath:
    _require(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2)
    preprocess, model = pipeline.steps[0][1], pipeline.steps[1][1]
    _require(type(model).__name__ in NATIVE_CATEGORICAL)
    _require(isinstance(preprocess, ColumnTransformer))
    numeric = tuple(f.name for f in spec.features if f.type == "numeric")
    categorical = [f.name for f in spec.features if f.type == "categorical"]
    # transformers_ in output order; a "remainder" entry drops nothing we use
    fitted = [
        (name, t, list(cols)) for name, t, cols in preprocess.transformers_ if name != "remainder"
    ]
    _require(fitted[0][0] == "numeric" and _is_identity(fitted[0][1]))
    _require(fitted[0][2] == list(numeric))
    tables: list[tuple[str, dict[str, float]]] = []
    if categorical:
        _require(len(fitted) == 2 and fitted[1][0] == "categorical" and fitted[1][2] == categorical)
        encoder = fitted[1][1]
        _require(isinstance(encoder, OrdinalEncoder))
        for name, categories in zip(categorical, encoder.categories_, strict=True):
            tables.append(
                (name, {v: float(i) for i, v in enumerate(categories) if isinstance(v, str)})
            )
    return FastPath(numeric, tuple(tables), model)


def compile_fast_path(pipeline: Pipeline, spec: ModelSpec) -> FastPath | None:
    """The fast path for driftloop's own native-categorical pipelines, else None."""
    try:
        return _compile(pipeline, spec)
    except (_NotCompilableError, AttributeError):  # AttributeError: not fitted
        return None
