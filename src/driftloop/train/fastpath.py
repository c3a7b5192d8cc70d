"""A faster scoring path for the pipelines driftloop builds itself.

A scikit-learn ColumnTransformer costs ~1 ms per call on a one-row DataFrame, more than the
gradient-boosted model it feeds. For driftloop's native-categorical pipelines (numeric
passthrough + OrdinalEncoder, then HistGradientBoosting*), the same matrix is a column stack
and a dict lookup per categorical value. ``compile_fast_path`` returns None for any other
pipeline, which then runs as is; tests check both paths give identical outputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from driftloop.config import ModelSpec
from driftloop.train.pipeline import NATIVE_CATEGORICAL

__all__ = ["FastPath", "compile_fast_path"]

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Trees:
    """A fitted HistGradientBoosting model scored as its ``predict``/``predict_proba`` score
    (scikit-learn 1.9's ``_raw_predict``: the baseline plus every tree's value, in the same
    order), without the per-call input validation and inner ColumnTransformer that re-encode
    the categorical columns (~2.7 ms a call): the re-encoding is one lookup per column here.
    Tests hold the outputs equal to the pipeline's."""

    model: Any
    categorical: tuple[int, ...]  # the matrix's categorical columns, in the model's order
    numeric: tuple[int, ...]
    categories: tuple[np.ndarray, ...]  # the model's own encoder's categories per column
    bitsets: tuple[Any, Any]  # known-category bitsets and their feature map

    @property
    def classes_(self) -> np.ndarray:
        classes: np.ndarray = self.model.classes_
        return classes

    def _raw(self, matrix: np.ndarray) -> np.ndarray:
        parts = []
        for column, categories in zip(self.categorical, self.categories, strict=True):
            x = matrix[:, column]
            at = np.minimum(np.searchsorted(categories, x), len(categories) - 1)
            parts.append(np.where(categories[at] == x, at, np.nan))  # unseen, missing: NaN
        x = np.column_stack([*parts, matrix[:, list(self.numeric)]]).astype(float)
        raw = np.zeros((len(x), self.model.n_trees_per_iteration_), order="F")
        raw += self.model._baseline_prediction
        threads = 1 if len(x) < 1000 else os.cpu_count() or 1  # threads cost more than 1 row
        for trees in self.model._predictors:
            for k, tree in enumerate(trees):
                raw[:, k] += tree.predict(x, *self.bitsets, threads)
        return raw

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        probabilities: np.ndarray = self.model._loss.predict_proba(self._raw(matrix))
        return probabilities

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        values: np.ndarray = self.model._loss.link.inverse(self._raw(matrix).ravel())
        return values


def _trees(model: Any, width: int) -> _Trees:
    """The model's own categorical re-encoding, checked to be the one scikit-learn 1.9
    fits (an OrdinalEncoder on the categorical columns first, NaN for unseen and missing,
    then the numeric columns); anything else is not compilable."""
    inner = model._preprocessor
    if inner is None:  # no categorical feature: the matrix is the model's input
        categorical: list[int] = []
        numeric, categories = list(range(width)), []
    else:
        (name, encoder, mask), (other, _, rest) = inner.transformers_[:2]
        _require(name == "encoder" and other == "numerical" and isinstance(encoder, OrdinalEncoder))
        _require(encoder.handle_unknown == "use_encoded_value" and np.isnan(encoder.unknown_value))
        _require(np.isnan(encoder.encoded_missing_value) and len(mask) == width)
        categorical = list(np.flatnonzero(mask))
        numeric = list(np.flatnonzero(rest))
        categories = [np.asarray(c, dtype=float) for c in encoder.categories_]
        _require(all(np.all(np.diff(c[~np.isnan(c)]) > 0) for c in categories))
    bitsets = model._bin_mapper.make_known_categories_bitsets()
    return _Trees(model, tuple(map(int, categorical)), tuple(map(int, numeric)),
                  tuple(categories), bitsets)  # fmt: skip


@dataclass(frozen=True)
class FastPath:
    numeric: tuple[str, ...]
    categorical: tuple[tuple[str, dict[str, float]], ...]
    model: _Trees

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
    return FastPath(numeric, tuple(tables), _trees(model, len(numeric) + len(categorical)))


def compile_fast_path(pipeline: Pipeline, spec: ModelSpec) -> FastPath | None:
    """The fast path for driftloop's own native-categorical pipelines, else None."""
    try:
        return _compile(pipeline, spec)
    # AttributeError: not fitted, or another scikit-learn's private attributes
    except (_NotCompilableError, AttributeError, TypeError, ValueError):
        return None
