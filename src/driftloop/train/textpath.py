"""A faster scoring path for driftloop's own text pipelines (TF-IDF, one-hot, scaled numbers,
then a linear model).

scikit-learn's ColumnTransformer, its encoders and TfidfVectorizer cost ~8 ms for one row of
the tickets model, far more than the linear model they feed. The same sparse matrix is a
vocabulary lookup per word, a dict lookup per category and an affine map per number.
``compile_text_path`` returns None for any other pipeline, which then runs as is; tests check
both paths give the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from driftloop.config import ModelSpec

__all__ = ["TextPath", "compile_text_path"]

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Text:
    column: str
    offset: int
    analyse: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear: bool


@dataclass(frozen=True)
class TextPath:
    width: int
    numeric: tuple[tuple[str, int, float, float, float], ...]  # column, index, fill, mean, scale
    categorical: tuple[tuple[str, dict[str, int]], ...]  # column, category -> index
    texts: tuple[_Text, ...]
    model: object

    def matrix(self, columns: Columns) -> sparse.csr_matrix:
        n = len(next(iter(columns.values())))
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for name, index, fill, mean, scale in self.numeric:
            x = np.asarray(columns[name], dtype=float)
            x = (np.where(np.isnan(x), fill, x) - mean) / scale
            rows += range(n)
            cols += [index] * n
            values += x.tolist()
        for name, codes in self.categorical:
            for row, value in enumerate(columns[name]):
                code = codes.get("missing" if value is None else value)
                if code is not None:  # an unseen category is all zeros (handle_unknown)
                    rows.append(row)
                    cols.append(code)
                    values.append(1.0)
        for text in self.texts:
            found: list[int] = []
            owners: list[int] = []
            for row, message in enumerate(columns[text.column]):
                terms = [
                    i for t in text.analyse(message) if (i := text.vocabulary.get(t)) is not None
                ]
                found += terms
                owners += [row] * len(terms)
            if not found:
                continue
            # term frequencies per (row, term), then tf-idf and each row's l2 norm, at once
            keys, tf = np.unique(
                np.asarray(owners, dtype=np.int64) * len(text.idf) + np.asarray(found),
                return_counts=True,
            )
            owner, term = np.divmod(keys, len(text.idf))
            weights = (1.0 + np.log(tf) if text.sublinear else tf.astype(float)) * text.idf[term]
            norms = np.sqrt(np.bincount(owner, weights * weights, minlength=n))
            rows += owner.tolist()
            cols += (term + text.offset).tolist()
            values += (weights / norms[owner]).tolist()
        return sparse.csr_matrix((values, (rows, cols)), shape=(n, self.width))


class _NotCompilableError(Exception):
    """Not a text pipeline driftloop built."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotCompilableError


def _steps(transformer: object) -> list[Any]:
    return [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]


def _compile(pipeline: Pipeline, spec: ModelSpec) -> TextPath:
    _require(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2)
    preprocess, model = pipeline.steps[0][1], pipeline.steps[1][1]
    _require(isinstance(preprocess, ColumnTransformer) and isinstance(model, LogisticRegression))
    _require(preprocess.remainder == "drop")
    numeric, categorical, texts = [], [], []
    for name, transformer, cols in preprocess.transformers_:
        where = preprocess.output_indices_[name]
        if name == "remainder" or where.stop == where.start:
            continue
        steps = _steps(transformer)
        if isinstance(transformer, TfidfVectorizer):
            _require(transformer.norm == "l2" and transformer.use_idf and not transformer.binary)
            texts.append(_Text(cols, where.start, transformer.build_analyzer(),
                               transformer.vocabulary_, transformer.idf_,
                               transformer.sublinear_tf))  # fmt: skip
        elif [type(s) for s in steps] == [SimpleImputer, StandardScaler]:
            imputer, scaler = steps
            _require(imputer.strategy == "median")
            for j, column in enumerate(cols):
                numeric.append((column, where.start + j, float(imputer.statistics_[j]),
                                float(scaler.mean_[j]), float(scaler.scale_[j])))  # fmt: skip
        elif [type(s) for s in steps] == [SimpleImputer, OneHotEncoder]:
            imputer, encoder = steps
            _require(imputer.strategy == "constant" and imputer.fill_value == "missing")
            _require(encoder.drop is None and encoder.handle_unknown == "ignore")
            offset = where.start
            for column, categories in zip(cols, encoder.categories_, strict=True):
                categorical.append((column, {str(c): offset + i for i, c in enumerate(categories)}))
                offset += len(categories)
        else:
            raise _NotCompilableError
    _require(bool(texts) and {f.name for f in spec.features} >= {t.column for t in texts})
    width = max(s.stop for s in preprocess.output_indices_.values())
    _require(width == model.coef_.shape[1])
    return TextPath(width, tuple(numeric), tuple(categorical), tuple(texts), model)


def compile_text_path(pipeline: Pipeline, spec: ModelSpec) -> TextPath | None:
    """The fast path for driftloop's own TF-IDF + linear pipelines, else None."""
    try:
        return _compile(pipeline, spec)
    except (_NotCompilableError, AttributeError, KeyError, TypeError, ValueError):
        return None
