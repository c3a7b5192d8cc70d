"""scikit-learn pipelines built from a model spec (or from the model's train.py hook)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from driftloop.config import ModelSpec
from driftloop.drift.text import WORD_PATTERN
from driftloop.errors import ConfigError

__all__ = ["build_pipeline", "estimator_class"]

# Estimators that take NaN and integer-coded categories natively.
NATIVE_CATEGORICAL = {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"}


def estimator_class(path: str, source: str) -> type[BaseEstimator]:
    module_name, _, class_name = path.rpartition(".")
    if not module_name.startswith("sklearn."):
        raise ConfigError(source, "estimator.class", f"{path!r} is not a scikit-learn class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ConfigError(source, "estimator.class", f"cannot import {path!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ConfigError(source, "estimator.class", f"{path!r} is not an estimator")
    return cls


def _preprocessor(spec: ModelSpec, native: bool) -> ColumnTransformer:
    numeric = [f.name for f in spec.features if f.type == "numeric"]
    categorical = [f.name for f in spec.features if f.type == "categorical"]
    if native:
        # Unseen and missing categories both become NaN, which the estimator treats as missing.
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        transformers: list[tuple[str, Any, list[str]]] = [
            ("numeric", "passthrough", numeric),
            ("categorical", encoder, categorical),
        ]
    else:
        transformers = [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    for feature in spec.features:
        if feature.type == "text":  # a 1-D column of strings: the name, not a list
            transformers.append((f"text_{feature.name}", _vectoriser(), feature.name))  # type: ignore[arg-type]
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def _vectoriser() -> TfidfVectorizer:
    # Words (as the drift descriptors tokenise them, driftloop.drift.text) and word pairs;
    # words in fewer than 2 messages are noise, and sublinear tf damps repeated words.
    return TfidfVectorizer(
        token_pattern=WORD_PATTERN, ngram_range=(1, 2), min_df=2, sublinear_tf=True
    )


def _hook(spec: ModelSpec, model_dir: Path) -> Pipeline:
    assert spec.train_hook is not None
    path = model_dir / spec.train_hook
    source = str(model_dir / "model.yaml")
    if not path.is_file():
        raise ConfigError(source, "train_hook", f"{path} not found")
    module_spec = importlib.util.spec_from_file_location(f"driftloop_hook_{spec.name}", path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(source, "train_hook", f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    build = getattr(module, "build_pipeline", None)
    if build is None:
        raise ConfigError(source, "train_hook", f"{path} defines no build_pipeline(spec)")
    pipeline = build(spec)
    if not isinstance(pipeline, BaseEstimator):
        raise ConfigError(source, "train_hook", "build_pipeline(spec) must return an estimator")
    return pipeline


def build_pipeline(spec: ModelSpec, model_dir: Path | None = None) -> Pipeline:
    """Preprocessing from the feature types, then the estimator declared in model.yaml."""
    source = str((model_dir or Path("models") / spec.name) / "model.yaml")
    if spec.train_hook is not None:
        return _hook(spec, model_dir or Path("models") / spec.name)
    assert spec.estimator is not None  # the spec validator requires one or the other
    cls = estimator_class(spec.estimator.class_, source)
    native = cls.__name__ in NATIVE_CATEGORICAL
    if native and any(f.type == "text" for f in spec.features):
        raise ConfigError(
            source, "estimator.class", f"{cls.__name__} takes no text (sparse TF-IDF) input; "
            "use e.g. sklearn.linear_model.LogisticRegression",
        )  # fmt: skip
    params = dict(spec.estimator.params)
    if native:
        # The preprocessor puts numeric columns first, then the encoded categorical ones.
        n_numeric = sum(1 for f in spec.features if f.type == "numeric")
        categorical = list(range(n_numeric, len(spec.features)))
        params.setdefault("categorical_features", categorical or None)
    try:
        estimator = cls(**params)
    except TypeError as error:
        raise ConfigError(source, "estimator.params", str(error)) from None
    return Pipeline([("preprocess", _preprocessor(spec, native)), ("model", estimator)])
