"""Fit a model from its spec: validate, split by time, fit, evaluate, profile."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from driftloop.config import ModelSpec
from driftloop.drift import Profile, build_profile
from driftloop.drift.binned_quality import calibration
from driftloop.drift.class_quality import class_calibration
from driftloop.drift.columns import FeatureType
from driftloop.drift.profile import profile_values
from driftloop.gates.metrics import demographic_parity_difference
from driftloop.train.data import data_digest, prepare_features, time_split, validate
from driftloop.train.evaluate import evaluate
from driftloop.train.pipeline import build_pipeline

__all__ = ["FitResult", "fit_model", "model_outputs", "outputs_of_probabilities"]


@dataclass(frozen=True)
class FitResult:
    pipeline: Pipeline
    metrics: dict[str, float]
    profile: Profile
    data_digest: str
    n_train: int
    n_eval: int


def model_outputs(pipeline: Any, features: Any, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, telemetry values) of a fitted pipeline or estimator: labels and the
    positive-class score for binary classification, labels and every class's probability
    (rows by ``classes_``) for multi-class, values twice for regression."""
    if spec.task == "regression":
        predicted = np.asarray(pipeline.predict(features), dtype=float)
        return predicted, predicted
    return outputs_of_probabilities(pipeline.predict_proba(features), pipeline.classes_, spec)


def outputs_of_probabilities(
    probabilities: np.ndarray, classes: np.ndarray, spec: ModelSpec
) -> tuple[np.ndarray, np.ndarray]:
    """A classifier's (predictions, telemetry values) from its class probabilities."""
    labels = classes[np.argmax(probabilities, axis=1)]
    if spec.task == "binary_classification":
        return labels, probabilities[:, 1]
    return labels, probabilities


def prediction_kind(spec: ModelSpec) -> FeatureType:
    return "categorical" if spec.task == "multiclass_classification" else "numeric"


def fit_model(
    spec: ModelSpec, df: pd.DataFrame, model_dir: Path | None = None, eval_fraction: float = 0.2
) -> FitResult:
    validate(df, spec)
    train, test = time_split(df, spec, eval_fraction)
    x_train = prepare_features(train, spec)
    pipeline = build_pipeline(spec, model_dir)
    pipeline.fit(x_train, train[spec.target].to_numpy())
    x_test = prepare_features(test, spec)
    predicted, scores = model_outputs(pipeline, x_test, spec)
    metrics = evaluate(spec.task, test[spec.target].to_numpy(), predicted, scores)
    profile = build_profile(
        train, spec.feature_types, spec.profile.bins, spec.profile.top_k, model=spec.name
    )
    reference_labels, reference_scores = model_outputs(pipeline, x_train, spec)
    multiclass = spec.task == "multiclass_classification"
    prediction = profile_values(
        "prediction",
        pd.Series(reference_labels if multiclass else reference_scores),
        prediction_kind(spec),
        spec.profile.bins,
    )
    calibrated: tuple[float, ...] = ()
    by_class: dict[str, tuple[float, ...]] = {}
    if multiclass:  # held-out rows, as for binary below
        names = [str(c) for c in pipeline.classes_]  # as the server names them (Confusion)
        position = {c: i for i, c in enumerate(pipeline.classes_)}  # a class unseen in training: -1
        actual = np.array([position.get(v, -1) for v in test[spec.target]], dtype=np.int64)
        table = class_calibration(scores, actual)
        by_class = {name: tuple(map(float, row)) for name, row in zip(names, table, strict=True)}
    attribute = spec.sensitive_attribute
    if spec.task == "binary_classification":
        if attribute in spec.feature_names:
            # As the server groups rows (the attribute's reference bins), so that the live
            # driftloop:demographic_parity_difference is judged against a like value.
            feature = profile.features[attribute]
            groups = feature.index_of_prepared(x_test[attribute].to_numpy())
            metrics["demographic_parity_difference"] = demographic_parity_difference(
                predicted, np.asarray(feature.bins)[groups], pipeline.classes_[-1]
            )
        # Held-out rows: the training rows' scores are overconfident for most estimators.
        positive = test[spec.target].astype(str).to_numpy() == str(pipeline.classes_[-1])
        index = prediction.index_of_prepared(np.asarray(scores, dtype=float))
        calibrated = tuple(map(float, calibration(index, positive, len(prediction.bins))))
    return FitResult(
        pipeline=pipeline,
        metrics=metrics,
        profile=replace(
            profile, prediction=prediction, calibration=calibrated, class_calibration=by_class
        ),
        data_digest=data_digest(df),
        n_train=len(train),
        n_eval=len(test),
    )
