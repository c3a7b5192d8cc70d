"""Multiclass quality in PromQL: labelled feedback as a confusion matrix (realised per-class
and macro F1), and from the scored rows' class probabilities, the expected counts of the
label-free estimate (driftloop.drift.class_quality)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from prometheus_client.core import CounterMetricFamily

from driftloop.drift.class_quality import calibrate, expected_counts
from driftloop.drift.columns import category_label
from driftloop.drift.profile import FeatureProfile
from driftloop.train.bundle import ModelBundle

__all__ = ["Confusion", "expected_correct"]


class Confusion:
    """Labelled rows per (actual, predicted) class pair and model version. Classes are the
    model's own (``/feedback`` refuses any other), so the series are bounded by classes
    squared per version; the served version's pairs exist from start-up (zeros). With a
    calibration table for every class, also the expected hits and rows per class and the
    expected correct rows among scored rows (this version's only)."""

    def __init__(self, bundle: ModelBundle, prediction: FeatureProfile) -> None:
        self.model, self.version = bundle.name, bundle.version
        classes = list(bundle.pipeline.classes_)
        self.classes = [str(c) for c in classes]
        # each class's bin in the prediction profile: served rows are counted by index
        labels = np.array([category_label(c) for c in classes], dtype=object)
        self.bins = prediction.index_of_prepared(labels)
        calibration, version = bundle.profile.class_calibration, bundle.version
        self.counts: dict[tuple[str, str, str], int] = {
            (version, actual, predicted): 0 for actual in self.classes for predicted in self.classes
        }
        known = bool(calibration) and all(c in calibration for c in self.classes)
        self.table = np.array([calibration[c] for c in self.classes]) if known else None
        self.hits = np.zeros(len(self.classes))
        self.rows = np.zeros(len(self.classes))

    def observe(self, version: str, actual: Iterable[object], predicted: Iterable[object]) -> None:
        for a, p in zip(actual, predicted, strict=True):
            key = (version, str(a), str(p))
            self.counts[key] = self.counts.get(key, 0) + 1

    def observe_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        """Count the expected hits and rows of scored rows; returns the served class indices."""
        served: np.ndarray = np.argmax(probabilities, axis=1)
        if self.table is not None:
            calibrated = calibrate(probabilities, self.table)
            hits, rows = expected_counts(calibrated, served)
            self.hits += hits
            self.rows += rows
        return served

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "driftloop_feedback_confusion",
            "Labelled rows per true class (actual) and served class (predicted).",
            labels=["model", "version", "actual", "predicted"],
        )
        for (version, actual, predicted), count in sorted(self.counts.items()):
            family.add_metric([self.model, version, actual, predicted], float(count))
        yield family
        if self.table is None:
            return
        labels = [self.model, self.version]
        for name, values, text in (
            ("driftloop_prediction_expected_class_hits", self.hits,
             "Expected correct rows among scored rows served each class (calibrated)."),
            ("driftloop_prediction_expected_class_rows", self.rows,
             "Expected rows of each true class among scored rows (calibrated)."),
        ):  # fmt: skip
            family = CounterMetricFamily(name, text, labels=["model", "version", "class"])
            for label, value in zip(self.classes, values, strict=True):
                family.add_metric([*labels, label], float(value))
            yield family
        # every expected hit is an expected correct row: accuracy's numerator is their sum
        yield expected_correct(labels, float(self.hits.sum()))


def expected_correct(labels: list[str], value: float) -> CounterMetricFamily:
    """The label-free accuracy's numerator, binary or multiclass alike."""
    family = CounterMetricFamily(
        "driftloop_prediction_expected_correct",
        "Expected correct served labels among scored rows (reference calibration).",
        labels=["model", "version"],
    )
    family.add_metric(labels, value)
    return family
