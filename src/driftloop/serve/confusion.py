"""Multiclass feedback as a confusion matrix, for per-class and macro F1 in PromQL."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily

__all__ = ["Confusion"]


class Confusion:
    """Labelled rows per (actual, predicted) class pair and model version. Classes are the
    model's own (``/feedback`` refuses any other), so the series are bounded by classes
    squared per version; the served version's pairs exist from start-up (zeros)."""

    def __init__(self, model: str, version: str, classes: Iterable[object]) -> None:
        self.model = model
        self.classes = [str(c) for c in classes]
        self.counts: dict[tuple[str, str, str], int] = {
            (version, actual, predicted): 0 for actual in self.classes for predicted in self.classes
        }

    def observe(self, version: str, actual: Iterable[object], predicted: Iterable[object]) -> None:
        for a, p in zip(actual, predicted, strict=True):
            key = (version, str(a), str(p))
            self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "driftloop_feedback_confusion",
            "Labelled rows per true class (actual) and served class (predicted).",
            labels=["model", "version", "actual", "predicted"],
        )
        for (version, actual, predicted), count in sorted(self.counts.items()):
            family.add_metric([self.model, version, actual, predicted], float(count))
        return family
