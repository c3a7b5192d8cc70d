"""A faster scoring path for driftloop's own text pipelines (TF-IDF, one-hot, scaled numbers,
then a linear model).

scikit-learn's ColumnTransformer, its encoders and TfidfVectorizer cost ~8 ms for one row of
the tickets model, far more than the linear model they feed. The same sparse matrix is a
vocabulary lookup per word, a dict lookup per category and an affine map per number.
``compile_text_path`` returns None for any other pipeline, which then runs as is; tests check
both paths give the same outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.extmath import softmax

from driftloop.config import ModelSpec
from driftloop.drift.text import WORD_PATTERN, Tokens, token_lists

__all__ = ["TextPath", "compile_text_path"]

Columns = dict[str, np.ndarray]
Entries = tuple[np.ndarray, np.ndarray, np.ndarray]  # a sparse matrix's rows, columns, values


@dataclass(frozen=True)
class _Text:
    column: str
    offset: int
    words: dict[str, int]  # word -> TF-IDF column
    pair_keys: np.ndarray  # sorted: first word's column * size + second's (word pairs)
    pair_columns: np.ndarray  # the pair's TF-IDF column, aligned with pair_keys
    idf: np.ndarray
    sublinear: bool

    def terms(self, lists: list[list[str] | None]) -> tuple[np.ndarray, np.ndarray]:
        """(row, TF-IDF column) of every known word and word pair, repeats included."""
        sizes = [len(words) if words else 0 for words in lists]
        flat = [w for words in lists if words for w in words]
        owner = np.repeat(np.arange(len(lists)), sizes)
        ids = np.fromiter(map(self.words.get, flat, repeat(-1)), np.int64, len(flat))
        known = ids >= 0
        rows, cols = [owner[known]], [ids[known]]
        if len(self.pair_keys) and len(ids) > 1:
            first, second = ids[:-1], ids[1:]
            pairs = (owner[:-1] == owner[1:]) & (first >= 0) & (second >= 0)
            keys = first[pairs] * len(self.idf) + second[pairs]
            at = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
            hit = self.pair_keys[at] == keys
            rows.append(owner[:-1][pairs][hit])
            cols.append(self.pair_columns[at[hit]])
        return np.concatenate(rows), np.concatenate(cols)


@dataclass(frozen=True)
class _Linear:
    """A fitted LogisticRegression's probabilities as scikit-learn 1.9 computes them
    (``decision_function``, then the logistic for two classes, softmax for more), from the
    matrix's entries without building it or validating input (~0.8 ms a request). Tests
    hold it to the pipeline."""

    coef: np.ndarray
    intercept: np.ndarray
    classes_: np.ndarray

    def probabilities(self, entries: Entries, n: int) -> np.ndarray:
        rows, cols, values = entries
        decision = (
            np.column_stack(
                [np.bincount(rows, weights=w[cols] * values, minlength=n) for w in self.coef]
            )
            + self.intercept
        )
        if len(self.classes_) > 2:
            result: np.ndarray = softmax(decision, copy=False)
            return result
        positive = expit(decision.ravel())
        return np.column_stack([1 - positive, positive])

    def predict_proba(self, matrix: sparse.spmatrix) -> np.ndarray:
        coo = sparse.coo_matrix(matrix)
        return self.probabilities((coo.row, coo.col, coo.data), matrix.shape[0])


@dataclass(frozen=True)
class TextPath:
    width: int
    numeric: tuple[tuple[str, int, float, float, float], ...]  # column, index, fill, mean, scale
    categorical: tuple[tuple[str, dict[str, int]], ...]  # column, category -> index
    texts: tuple[_Text, ...]
    model: _Linear

    def probabilities(self, columns: Columns, tokens: Tokens | None = None) -> np.ndarray:
        """The pipeline's ``predict_proba``; ``tokens``: the text columns already tokenised
        (``driftloop.drift.text.tokenise``, shared with the descriptors)."""
        return self.model.probabilities(self.entries(columns, tokens), _rows(columns))

    def matrix(self, columns: Columns, tokens: Tokens | None = None) -> sparse.csr_matrix:
        """The pipeline's feature matrix, as its preprocessing builds it."""
        rows, cols, values = self.entries(columns, tokens)
        return sparse.csr_matrix((values, (rows, cols)), shape=(_rows(columns), self.width))

    def entries(self, columns: Columns, tokens: Tokens | None = None) -> Entries:
        """(row, column, value) of the matrix's non-zero entries."""
        n = _rows(columns)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for name, index, fill, mean, scale in self.numeric:
            x = np.asarray(columns[name], dtype=float)
            rows.append(np.arange(n))
            cols.append(np.full(n, index))
            values.append((np.where(np.isnan(x), fill, x) - mean) / scale)
        for name, codes in self.categorical:
            found = np.fromiter(
                (codes.get("missing" if v is None else v, -1) for v in columns[name]), np.int64, n
            )
            seen = found >= 0  # an unseen category is all zeros (handle_unknown)
            rows.append(np.flatnonzero(seen))
            cols.append(found[seen])
            values.append(np.ones(int(seen.sum())))
        for text in self.texts:
            lists = (tokens or {}).get(text.column) or token_lists(columns[text.column])
            owners, terms = text.terms(lists)
            if not len(terms):
                continue
            # term frequencies per (row, term), then tf-idf and each row's l2 norm, at once
            keys, tf = np.unique(owners * len(text.idf) + terms, return_counts=True)
            owner, term = np.divmod(keys, len(text.idf))
            weights = (1.0 + np.log(tf) if text.sublinear else tf.astype(float)) * text.idf[term]
            norms = np.sqrt(np.bincount(owner, weights * weights, minlength=n))
            rows.append(owner)
            cols.append(term + text.offset)
            values.append(weights / norms[owner])
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def _rows(columns: Columns) -> int:
    return len(next(iter(columns.values())))


class _NotCompilableError(Exception):
    """Not a text pipeline driftloop built."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotCompilableError


def _steps(transformer: object) -> list[Any]:
    return [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]


def _compile_text(vectoriser: TfidfVectorizer, column: str, offset: int) -> _Text:
    """Words as driftloop.drift.text tokenises them, and word pairs, looked up by hand."""
    v = vectoriser
    _require(v.norm == "l2" and v.use_idf and not v.binary and v.analyzer == "word")
    _require(v.token_pattern == WORD_PATTERN and v.lowercase and v.stop_words is None)
    _require(v.preprocessor is None and v.tokenizer is None and v.strip_accents is None)
    _require(v.ngram_range in ((1, 1), (1, 2)) and isinstance(column, str))
    words = {t: i for t, i in v.vocabulary_.items() if " " not in t}
    keys, columns = [], []
    for term, index in v.vocabulary_.items():
        if " " in term:  # a pair of vocabulary words (min_df counts pairs apart from words)
            first, second = term.split(" ")
            _require(first in words and second in words)
            keys.append(words[first] * len(v.idf_) + words[second])
            columns.append(index)
    order = np.argsort(keys)
    return _Text(column, offset, words, np.asarray(keys, dtype=np.int64)[order],
                 np.asarray(columns, dtype=np.int64)[order], v.idf_, v.sublinear_tf)  # fmt: skip


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
            texts.append(_compile_text(transformer, cols, where.start))
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
    _require(width == model.coef_.shape[1] and getattr(model, "multi_class", "auto") == "auto")
    linear = _Linear(model.coef_, model.intercept_, model.classes_)
    return TextPath(width, tuple(numeric), tuple(categorical), tuple(texts), linear)


def compile_text_path(pipeline: Pipeline, spec: ModelSpec) -> TextPath | None:
    """The fast path for driftloop's own TF-IDF + linear pipelines, else None."""
    try:
        return _compile(pipeline, spec)
    except (_NotCompilableError, AttributeError, KeyError, TypeError, ValueError):
        return None
