"""Drift telemetry: per-feature bin counters kept as numpy arrays, exported on scrape.

Counting a batch is one vectorised binning per feature and one ``np.add`` into an array, so
telemetry stays small next to model latency. Every bin series exists from start-up (zeros), so
a bin that never fills still reads 0 in Prometheus, not "absent".
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from driftloop.drift.binned_quality import below, expected_positives
from driftloop.drift.columns import category_label
from driftloop.drift.profile import Z_LIMIT, FeatureProfile, count_beyond
from driftloop.drift.text import Tokens, descriptor_columns, descriptor_names
from driftloop.serve.confusion import Confusion, expected_correct
from driftloop.serve.payload import class_of, known_classes
from driftloop.train.bundle import ModelBundle

__all__ = ["LATENCY_BUCKETS", "Telemetry"]

# `_created` series double the exposition and nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
BINARY_OUTCOMES = ("tp", "fp", "tn", "fn")
MAX_VERSIONS = 4  # other model versions one server counts feedback for (label cardinality)


class _BinCollector(Collector):
    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        t = self.telemetry
        labels = [t.bundle.name, t.bundle.version]
        counts = CounterMetricFamily(
            "driftloop_feature_bin",
            "Scored rows per feature bin (bins from the reference profile).",
            labels=["model", "version", "feature", "bin"],
        )
        ratios = GaugeMetricFamily(
            "driftloop_feature_reference_ratio",
            "Reference share of each feature bin.",
            labels=["model", "version", "feature", "bin"],
        )
        for name, feature in t.features.items():
            for label, count, ratio in zip(
                feature.bins, t.counts[name], feature.ratios, strict=True
            ):
                counts.add_metric([*labels, name, label], float(count))
                ratios.add_metric([*labels, name, label], float(ratio))
        yield counts
        yield ratios
        if t.ranges:
            outside = CounterMetricFamily(
                "driftloop_feature_out_of_range",
                f"Scored values more than {Z_LIMIT} reference standard deviations from the "
                "reference mean (any other value, for a constant reference feature).",
                labels=["model", "version", "feature"],
            )
            usual = GaugeMetricFamily(
                "driftloop_feature_out_of_range_reference_ratio",
                "The reference's own share of values beyond the same range (skewed features "
                "have some; the alert and the check judge the excess over it).",
                labels=["model", "version", "feature"],
            )
            for name in t.ranges:
                outside.add_metric([*labels, name], float(t.out_of_range[name]))
                usual.add_metric([*labels, name], float(t.features[name].beyond or 0.0))
            yield outside
            yield usual
        prediction = t.bundle.profile.prediction
        assert prediction is not None
        p_counts = CounterMetricFamily(
            "driftloop_prediction_bin",
            "Scored rows per model-output bin (score deciles, classes or value bins).",
            labels=["model", "version", "bin"],
        )
        p_ratios = GaugeMetricFamily(
            "driftloop_prediction_reference_ratio",
            "Reference share of each model-output bin.",
            labels=["model", "version", "bin"],
        )
        for label, count, ratio in zip(
            prediction.bins, t.prediction_counts, prediction.ratios, strict=True
        ):
            p_counts.add_metric([*labels, label], float(count))
            p_ratios.add_metric([*labels, label], float(ratio))
        yield p_counts
        yield p_ratios
        if t.quality is not None:
            yield from t.quality.collect(labels, prediction.bins)
        if t.groups is not None:
            yield t.groups.collect(labels)
        if t.confusion is not None:
            yield from t.confusion.collect()
        rows = GaugeMetricFamily(
            "driftloop_reference_rows",
            "Rows the reference profile was built from (for noise-aware drift thresholds).",
            labels=["model", "version"],
        )
        rows.add_metric(labels, float(t.bundle.profile.n_rows))
        yield rows
        yield _metrics_gauge(
            "driftloop_reference_metric",
            "The model's evaluation metrics at training time.",
            labels,
            t.bundle.metrics,
        )
        if t.bundle.golden:
            yield _metrics_gauge(
                "driftloop_golden_metric",
                "The served model's metrics on the golden set, scored when it loaded.",
                labels,
                t.bundle.golden,
            )


def _metrics_gauge(
    name: str, help_text: str, labels: list[str], values: dict[str, float]
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, help_text, labels=["model", "version", "metric"])
    for metric, value in sorted(values.items()):
        gauge.add_metric([*labels, metric], value)
    return gauge


def _bin_counter(
    name: str, help_text: str, labels: list[str], values: np.ndarray, bins: tuple[str, ...]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, help_text, labels=["model", "version", "bin"])
    for bin_, value in zip(bins, values, strict=True):
        family.add_metric([*labels, bin_], float(value))
    return family


def served_positive(scores: np.ndarray) -> np.ndarray:
    """The served label is the positive class when its score is above 0.5 (argmax)."""
    return scores > 0.5


class ScoreQuality:
    """Binary classifiers: labelled scores per bin (realised AUC) and, from the reference
    calibration, expected positives among all scored rows (the label-free estimate)."""

    def __init__(self, prediction: FeatureProfile, calibrated: tuple[float, ...]) -> None:
        self.prediction = prediction
        size = len(prediction.bins)
        self.calibrated = np.asarray(calibrated, dtype=float) if calibrated else None
        self.labelled = {"positive": np.zeros(size), "negative": np.zeros(size)}
        self.negative_below = np.zeros(size)
        self.expected = np.zeros(size)
        self.expected_negative_below = np.zeros(size)
        self.expected_correct = 0.0

    def observe_scores(self, scores: np.ndarray) -> None:
        if self.calibrated is None:
            return
        index = self.prediction.index_of_prepared(scores)
        counts = np.bincount(index, minlength=len(self.prediction.bins))
        expected = expected_positives(counts, self.calibrated)
        self.expected += expected
        self.expected_negative_below += below(counts - expected)
        chance = self.calibrated[index]
        self.expected_correct += float(np.where(served_positive(scores), chance, 1 - chance).sum())

    def observe_labels(self, scores: np.ndarray, positive: np.ndarray) -> None:
        index = self.prediction.index_of_prepared(scores)
        size = len(self.prediction.bins)
        misses = np.bincount(index[~positive], minlength=size).astype(float)
        self.labelled["positive"] += np.bincount(index[positive], minlength=size)
        self.labelled["negative"] += misses
        self.negative_below += below(misses)

    def collect(self, labels: list[str], bins: tuple[str, ...]) -> Iterator[Metric]:
        scored = CounterMetricFamily(
            "driftloop_feedback_score_bin",
            "Labelled rows per score bin and true class (feedback that carried its score).",
            labels=["model", "version", "class", "bin"],
        )
        for kind, values in self.labelled.items():
            for bin_, value in zip(bins, values, strict=True):
                scored.add_metric([*labels, kind, bin_], float(value))
        yield scored
        yield _bin_counter(
            "driftloop_feedback_negative_below",
            "Labelled negatives in the score bins below this one (for AUC in PromQL).",
            labels, self.negative_below, bins,
        )  # fmt: skip
        if self.calibrated is None:
            return
        yield _bin_counter(
            "driftloop_prediction_expected_positives",
            "Expected positives among scored rows per score bin (reference calibration).",
            labels, self.expected, bins,
        )  # fmt: skip
        yield _bin_counter(
            "driftloop_prediction_expected_negatives_below",
            "Expected negatives among scored rows in the score bins below this one.",
            labels, self.expected_negative_below, bins,
        )  # fmt: skip
        yield expected_correct(labels, self.expected_correct)


class GroupPredictions:
    """Binary classifiers with a sensitive attribute among their features: scored rows per
    group and served class, for demographic parity in PromQL. Groups are the attribute's
    reference bins (its categories, "other", "missing"), so their number is bounded."""

    def __init__(self, feature: FeatureProfile) -> None:
        self.feature = feature
        self.counts = {
            kind: np.zeros(len(feature.bins), dtype=np.int64) for kind in ("positive", "negative")
        }

    def observe(self, index: np.ndarray, scores: np.ndarray) -> None:
        positive = served_positive(scores)
        size = len(self.feature.bins)
        self.counts["positive"] += np.bincount(index[positive], minlength=size)
        self.counts["negative"] += np.bincount(index[~positive], minlength=size)

    def collect(self, labels: list[str]) -> Metric:
        family = CounterMetricFamily(
            "driftloop_prediction_group",
            f"Scored rows per group of the sensitive attribute {self.feature.name!r} "
            "(its reference bins) and served class (positive: the model's positive class).",
            labels=["model", "version", "group", "predicted"],
        )
        for kind, values in self.counts.items():
            for group, value in zip(self.feature.bins, values, strict=True):
                family.add_metric([*labels, group, kind], float(value))
        return family


class Telemetry:
    """All metrics of one served model version, in a registry of its own."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        profile = bundle.profile
        # text features are counted as their descriptors (driftloop.drift.text)
        self.texts = {
            f.name: profile.known_words[f.name] for f in bundle.spec.features if f.type == "text"
        }
        monitored = [
            name
            for f in bundle.spec.features
            for name in (descriptor_names(f.name) if f.name in self.texts else [f.name])
        ]
        self.features: dict[str, FeatureProfile] = {n: profile.features[n] for n in monitored}
        self.counts = {
            name: np.zeros(len(f.bins), dtype=np.int64) for name, f in self.features.items()
        }
        # numeric features whose profile has the reference mean and std: (mean, std)
        self.ranges = {
            name: (f.mean, f.std)
            for name, f in self.features.items()
            if f.type == "numeric" and f.mean is not None and f.std is not None
        }
        self.out_of_range = dict.fromkeys(self.ranges, 0)
        assert bundle.profile.prediction is not None
        self.prediction = bundle.profile.prediction
        self.prediction_counts = np.zeros(len(self.prediction.bins), dtype=np.int64)
        self.quality = (
            ScoreQuality(self.prediction, bundle.profile.calibration)
            if bundle.spec.task == "binary_classification" and self.prediction.type == "numeric"
            else None
        )
        attribute = bundle.spec.sensitive_attribute
        self.groups = (
            GroupPredictions(self.features[attribute])
            if self.quality is not None and attribute is not None and attribute in self.features
            else None
        )
        multiclass = bundle.spec.task == "multiclass_classification"
        self.confusion = Confusion(bundle, self.prediction) if multiclass else None
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_BinCollector(self))
        labels = ("model", "version")
        self.requests = Counter(
            "driftloop_requests",
            "Requests by HTTP status code.",
            [*labels, "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "driftloop_request_duration_seconds",
            "Time to answer /invocations, parsing to response.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter(
            "driftloop_feedback",
            "Labelled outcomes received on /feedback.",
            [*labels, "outcome"],
            registry=self.registry,
        )
        self.absolute_error = Counter(
            "driftloop_feedback_absolute_error",
            "Sum of |prediction - label| received on /feedback (regression).",
            labels,
            registry=self.registry,
        )
        self.squared_error = Counter(
            "driftloop_feedback_squared_error",
            "Sum of (prediction - label)^2 received on /feedback (regression).",
            labels,
            registry=self.registry,
        )
        self._ids = (bundle.name, bundle.version)
        classes = getattr(bundle.pipeline, "classes_", [])
        self.known = known_classes(classes)
        self.versions: set[str] = set()  # other versions feedback was counted for
        self.latency_child = self.latency.labels(*self._ids)
        self._init_series()

    def _init_series(self) -> None:
        for code in ("200", "400", "413", "415", "422", "500"):
            self.requests.labels(*self._ids, code)
        outcomes = (
            ("observed",)
            if self.bundle.spec.task == "regression"
            else BINARY_OUTCOMES
            if self.bundle.spec.task == "binary_classification"
            else ("correct", "incorrect")
        )
        for outcome in outcomes:
            self.feedback.labels(*self._ids, outcome)
        self.absolute_error.labels(*self._ids)
        self.squared_error.labels(*self._ids)

    def count_request(self, code: int) -> None:
        self.requests.labels(*self._ids, str(code)).inc()

    def observe(
        self, columns: dict[str, np.ndarray], outputs: np.ndarray, tokens: Tokens | None = None
    ) -> None:
        """Count one accepted batch of prepared columns (only after it was scored);
        ``tokens``: its text columns already tokenised (shared with the model)."""
        # binary classifiers' outputs are positive-class scores (for quality and groups)
        scores = np.asarray(outputs, dtype=float) if self.quality is not None else None
        for name, known in self.texts.items():
            lists = (tokens or {}).get(name)
            columns = columns | descriptor_columns(name, columns[name], known, lists)
        for name, feature in self.features.items():
            index = feature.index_of_prepared(columns[name])
            self.counts[name] += np.bincount(index, minlength=len(feature.bins))
            if self.groups is not None and scores is not None and self.groups.feature is feature:
                self.groups.observe(index, scores)
        for name, (mean, std) in self.ranges.items():
            self.out_of_range[name] += count_beyond(columns[name], mean, std)
        if self.confusion is not None and np.ndim(outputs) == 2:  # class probabilities
            index = self.confusion.bins[self.confusion.observe_probabilities(outputs)]
        else:
            if self.prediction.type == "categorical":
                outputs = np.array([category_label(v) for v in outputs], dtype=object)
            index = self.prediction.index_of_prepared(outputs)
        self.prediction_counts += np.bincount(index, minlength=len(self.prediction.bins))
        if self.quality is not None and scores is not None:
            self.quality.observe_scores(scores)

    def _class(self, value: object) -> str:
        """The class a checked feedback value names, as the model spells it (1.0 -> "1")."""
        found = class_of(value, self.known)
        return str(found.item() if isinstance(found, np.generic) else found)

    def new_versions(self, versions: list[str | None]) -> str | None:
        """Why these records' versions cannot be counted, or None: each version is a label
        value of its own, so a server counts feedback for at most ``MAX_VERSIONS`` others."""
        others = {v for v in versions if v and v != self.bundle.version} - self.versions
        if len(self.versions) + len(others) > MAX_VERSIONS:
            return (
                f"feedback for {len(self.versions) + len(others)} other versions; this server "
                f"(v{self.bundle.version}) counts at most {MAX_VERSIONS}"
            )
        self.versions |= others
        return None

    def observe_feedback(
        self, predictions: list[object], labels: list[object], scores: list[float | None],
        versions: list[str | None] | None = None,
    ) -> None:  # fmt: skip
        """Count labelled outcomes under the version that made each prediction (the record's
        ``version``, else this server's): during a canary, feedback sent through the model's
        Service reaches either version's pods. Score bins are this version's own, so only
        its own records' scores count towards AUC."""
        own = self.bundle.version
        groups: dict[str, list[int]] = {}
        for index, version in enumerate(versions or [None] * len(labels)):
            groups.setdefault(version or own, []).append(index)
        for version, rows in groups.items():
            self._outcomes(
                (self.bundle.name, version),
                [predictions[i] for i in rows],
                [labels[i] for i in rows],
                [scores[i] for i in rows] if version == own else [],
            )

    def _outcomes(
        self, ids: tuple[str, str], predictions: list[object], labels: list[object],
        scores: list[float | None],
    ) -> None:  # fmt: skip
        task = self.bundle.spec.task
        if task == "regression":
            errors = np.asarray(predictions, dtype=float) - np.asarray(labels, dtype=float)
            self.absolute_error.labels(*ids).inc(float(np.abs(errors).sum()))
            self.squared_error.labels(*ids).inc(float((errors**2).sum()))
            self.feedback.labels(*ids, "observed").inc(len(errors))
            return
        tally: dict[str, int] = {}
        if task == "binary_classification":
            positive = str(self.bundle.pipeline.classes_[-1])
            scored = [i for i, score in enumerate(scores) if score is not None]
            if self.quality is not None and scored:
                self.quality.observe_labels(
                    np.array([scores[i] for i in scored], dtype=float),
                    np.array([str(labels[i]) == positive for i in scored], dtype=bool),
                )
            for predicted, actual in zip(predictions, labels, strict=True):
                hit = str(predicted) == str(actual)
                kind = ("t" if hit else "f") + ("p" if str(predicted) == positive else "n")
                tally[kind] = tally.get(kind, 0) + 1
        else:
            actual = [self._class(v) for v in labels]
            served = [self._class(v) for v in predictions]
            for predicted, truth in zip(served, actual, strict=True):
                kind = "correct" if predicted == truth else "incorrect"
                tally[kind] = tally.get(kind, 0) + 1
            if self.confusion is not None:
                self.confusion.observe(ids[1], actual, served)
        for outcome, count in tally.items():
            self.feedback.labels(*ids, outcome).inc(count)
