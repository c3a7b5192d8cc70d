"""Running models on labelled data for the gates: predictions and single-row latency."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from driftloop.bundle import ModelBundle
from driftloop.config import ModelSpec
from driftloop.gates import Evaluation
from driftloop.train.data import prepare_features

__all__ = ["evaluate_bundle", "single_row_latency"]


def _columns(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, np.ndarray]:
    prepared = prepare_features(frame, spec)
    return {name: prepared[name].to_numpy() for name in spec.feature_names}


def evaluate_bundle(bundle: ModelBundle, frame: pd.DataFrame, dataset: str) -> Evaluation:
    spec = bundle.spec
    predicted, score = bundle.outputs_of_columns(_columns(frame, spec))
    groups = None
    if spec.sensitive_attribute is not None and spec.sensitive_attribute in frame.columns:
        groups = frame[spec.sensitive_attribute].astype(str).to_numpy()
    return Evaluation(dataset, frame[spec.target].to_numpy(), predicted, score, groups)


def single_row_latency(
    bundles: list[ModelBundle], frame: pd.DataFrame, runs: int, requests: int
) -> list[float]:
    """p95 seconds of one-row predictions through the serving path, per bundle: runs
    alternate between bundles (so drift in machine load hits all alike), median of runs."""
    rows = frame.head(requests)
    per_row = [
        [_columns(rows.iloc[[i]], bundle.spec) for i in range(len(rows))] for bundle in bundles
    ]
    results: list[list[float]] = [[] for _ in bundles]
    for _ in range(runs):
        for index, bundle in enumerate(bundles):
            timings = []
            for columns in per_row[index]:
                start = time.perf_counter()
                bundle.outputs_of_columns(columns)
                timings.append(time.perf_counter() - start)
            results[index].append(float(np.percentile(timings, 95)))
    return [statistics.median(values) for values in results]
