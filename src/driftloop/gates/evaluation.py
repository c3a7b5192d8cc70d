"""What a model did on one labelled dataset: the arrays every gate is computed from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Evaluation"]


@dataclass(frozen=True)
class Evaluation:
    """One model on one dataset. ``score`` is the positive-class probability (binary) or the
    prediction (regression); ``groups`` the sensitive attribute per row, if any;
    ``latency_p95`` seconds per single-row prediction; ``latency_ratio`` (candidates only)
    this model's single-row time over the champion's, timed interleaved on the same rows:
    (median, low, high) of a confidence interval, so load on the machine moves both alike;
    ``latency_fast`` the 10th percentile of its single-row times, near the unloaded cost."""

    dataset: str
    y_true: np.ndarray
    y_pred: np.ndarray
    score: np.ndarray
    groups: np.ndarray | None = None
    latency_p95: float | None = None
    latency_ratio: tuple[float, float, float] | None = None
    latency_fast: float | None = None  # 10th percentile of single-row times (load-robust)

    def __post_init__(self) -> None:
        n = len(self.y_true)
        if len(self.y_pred) != n or len(self.score) != n:
            raise ValueError("y_true, y_pred and score must have the same length")
        if self.groups is not None and len(self.groups) != n:
            raise ValueError("groups must have one value per row")

    @property
    def rows(self) -> int:
        return len(self.y_true)
