"""Running models on labelled data for the gates: predictions and single-row latency."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftloop.config import ModelSpec
from driftloop.gates import Evaluation
from driftloop.train.bundle import ModelBundle
from driftloop.train.data import prepare_features

__all__ = ["Latency", "evaluate_bundle", "paired_latency"]


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


@dataclass(frozen=True)
class Latency:
    p95: tuple[float, float]  # seconds per single-row prediction: champion, candidate
    ratio: tuple[float, float, float]  # candidate / champion: median, CI low, CI high
    # 10th percentile per model: close to the unloaded cost, whatever else runs
    fast: tuple[float, float] = (0.0, 0.0)


def paired_latency(
    champion: ModelBundle,
    candidate: ModelBundle,
    frame: pd.DataFrame,
    rounds: int,
    requests: int,
    confidence: float = 0.95,
    seed: int = 0,
) -> Latency:
    """Time both models one row at a time, interleaved (A B, then B A, on the same row), so
    that whatever else runs on the machine slows both alike; judge the paired ratios: the
    median of candidate/champion per row and a bootstrap interval of that median."""
    rows = frame.head(requests)
    per_row = [
        (_columns(rows.iloc[[i]], champion.spec), _columns(rows.iloc[[i]], candidate.spec))
        for i in range(len(rows))
    ]
    pair = (champion, candidate)
    times: list[list[float]] = [[], []]
    for round_ in range(rounds):
        for a_columns, b_columns in per_row:
            order = (0, 1) if round_ % 2 == 0 else (1, 0)  # neither always goes first
            for index in order:
                columns = (a_columns, b_columns)[index]
                start = time.perf_counter()
                pair[index].outputs_of_columns(columns)
                times[index].append(time.perf_counter() - start)
    champ, cand = np.asarray(times[0]), np.asarray(times[1])
    ratios = np.log(cand / np.maximum(champ, 1e-9))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ratios), size=(500, len(ratios)))
    medians = np.median(ratios[draws], axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(medians, [tail, 1 - tail])
    return Latency(
        (float(np.percentile(champ, 95)), float(np.percentile(cand, 95))),
        (float(np.exp(np.median(ratios))), float(np.exp(low)), float(np.exp(high))),
        (float(np.percentile(champ, 10)), float(np.percentile(cand, 10))),
    )
