"""``policies/drift.yaml`` (kind: DriftPolicy): when drift becomes a retraining trigger."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, PrivateAttr, Tag, model_validator

from driftloop.config.base import (
    API_VERSION,
    Document,
    Duration,
    KeyedValueError,
    Strict,
    load_document,
    parse_duration,
)
from driftloop.config.signals import Detection, Fairness, OutOfRange, SampleSizeAware
from driftloop.errors import ConfigError

__all__ = [
    "LOWER_IS_BETTER",
    "Bound",
    "Detection",
    "DriftPolicy",
    "DriftSettings",
    "Drop",
    "FeatureOverride",
    "ModelOverride",
    "OutOfRange",
    "PerformanceSettings",
    "RelativeBound",
    "SampleSizeAware",
    "Threshold",
    "Thresholds",
    "load_drift_policy",
]

RECORDED_WINDOWS = ("5m", "1h", "24h", "30d")
# Longer recorded windows sum daily increases of the bin counters (PSI and Hellinger only:
# no quality, value range or parity over them) and must be whole days.
LONGEST_RAW = timedelta(hours=24)
LONG_WINDOWS = "windows longer than 24h are whole days and record PSI and Hellinger only"
UNRECORDED = ("wasserstein", "jensenshannon")  # thresholds the check cannot judge


def _duration_text(value: str) -> str:
    parse_duration(value)  # raises ValueError with a clear message
    return value


class Threshold(Strict):
    """Warn and critical levels of one effect-size statistic."""

    warn: float = Field(ge=0)
    critical: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.critical <= self.warn:
            raise KeyedValueError("critical", "must be > warn")
        return self


class Thresholds(Strict):
    """Per-statistic thresholds; the Prometheus path records PSI only."""

    psi: Threshold | None = None
    wasserstein: Threshold | None = None
    jensenshannon: Threshold | None = None
    hellinger: Threshold | None = None

    def merged(self, other: Thresholds | FeatureOverride | None) -> Thresholds:
        if other is None:
            return self
        data = self.model_dump(exclude_none=True)
        data.update(other.model_dump(exclude_none=True, include=set(Thresholds.model_fields)))
        return Thresholds.model_validate(data)


class FeatureOverride(Strict):
    """Thresholds for one feature, or ``ignore: true`` to leave it out of decisions."""

    ignore: bool = False
    psi: Threshold | None = None
    wasserstein: Threshold | None = None
    jensenshannon: Threshold | None = None
    hellinger: Threshold | None = None


QualityMetric = Literal["roc_auc", "accuracy", "f1", "f1_macro", "mae", "rmse"]
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
# What the server's feedback path records for each task (driftloop.generate.rules).
RECORDED_FOR = {
    "binary_classification": ("roc_auc", "accuracy", "f1"),
    "multiclass_classification": ("accuracy", "f1_macro"),
    "regression": ("mae", "rmse"),
}
Schedule = Literal["daily", "weekly", "monthly"]


class Bound(Strict):
    """Warn and critical levels of a quality metric; which side is worse depends on the
    metric (AUC falls, MAE rises)."""

    warn: float
    critical: float


class Drop(Strict):
    """How far below the model's training-time value (``driftloop_reference_metric``) a
    metric may fall: warn and critical, in the metric's units (0.05 = 5 points of AUC)."""

    warn: float = Field(gt=0, le=1)
    critical: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Drop:
        if self.critical <= self.warn:
            raise KeyedValueError("critical", "must be > warn (a larger drop is worse)")
        return self


class RelativeBound(Strict):
    """Levels relative to training: ``roc_auc: {max_drop: {warn: 0.03, critical: 0.05}}``
    (seed 002's "AUROC: -5 pp vs training")."""

    max_drop: Drop


def _bound_kind(value: object) -> str:
    return "relative" if isinstance(value, dict) and "max_drop" in value else "absolute"


# which member a level is, by its keys, so an error names the keys the user wrote
QualityBound = Annotated[
    Annotated[Bound, Tag("absolute")] | Annotated[RelativeBound, Tag("relative")],
    Discriminator(_bound_kind),
]


class PerformanceSettings(Strict):
    """Retrain on model quality: realised from labelled feedback, estimated from scores."""

    window: Duration = Field(
        default=timedelta(hours=1), description="Recorded window the quality rules cover."
    )
    min_labels: int = Field(default=500, ge=1, description="Labelled rows to judge at all.")
    sustain: Duration = Field(
        default=timedelta(hours=2),
        description="How long quality must stay critical; 0s acts on the first breach.",
    )
    sustain_fraction: float = Field(default=0.8, gt=0, le=1)
    thresholds: dict[QualityMetric, QualityBound] = Field(min_length=1)
    estimated: Literal["off", "warn", "trigger"] = Field(
        default="warn",
        description="The label-free estimate (classifiers) only warns unless 'trigger'.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceSettings:
        for metric, bound in self.thresholds.items():
            if isinstance(bound, RelativeBound):
                if metric in LOWER_IS_BETTER:
                    raise KeyedValueError(
                        f"thresholds.{metric}.max_drop", "applies where higher is better"
                    )
                continue
            top = 1.0 if metric not in LOWER_IS_BETTER else math.inf  # shares and AUC
            for level in ("warn", "critical"):
                if not 0 <= getattr(bound, level) <= top:
                    span = "between 0 and 1" if top == 1 else "at least 0"
                    raise KeyedValueError(f"thresholds.{metric}.{level}", f"must be {span}")
            if metric in LOWER_IS_BETTER and bound.critical <= bound.warn:
                raise KeyedValueError(
                    f"thresholds.{metric}.critical", "must be > warn (higher is worse)"
                )
            if metric not in LOWER_IS_BETTER and bound.critical >= bound.warn:
                raise KeyedValueError(
                    f"thresholds.{metric}.critical", "must be < warn (lower is worse)"
                )
        return self

    def worse(self, metric: str, value: float, level: float) -> bool:
        return value > level if metric in LOWER_IS_BETTER else value < level


class DriftSettings(Strict):
    window: Duration = Field(
        default=timedelta(hours=1), description="Recorded PSI window decisions read."
    )
    min_samples: int = Field(default=1000, ge=1, description="Rows in the window to judge at all.")
    sustain: Duration = Field(default=timedelta(hours=6))
    sustain_fraction: float = Field(
        default=0.8, gt=0, le=1, description="Share of the sustain period spent critical."
    )
    cooldown: Duration = Field(default=timedelta(hours=24))
    max_triggers_per_week: int = Field(default=2, ge=0)
    min_drifted_features: int = Field(default=1, ge=1)
    min_drifted_share: float = Field(default=0.0, ge=0, le=1)
    sample_size_aware: SampleSizeAware = Field(default_factory=SampleSizeAware)
    thresholds: Thresholds = Field(
        default_factory=lambda: Thresholds(psi=Threshold(warn=0.1, critical=0.25))
    )
    performance: PerformanceSettings | None = None
    schedule: Schedule | None = Field(
        default=None, description="Also retrain once per calendar period (UTC), whatever drift."
    )
    detection: Detection | None = Field(
        default=None, description="Detect on a short window within minutes (no dispatch)."
    )
    out_of_range: OutOfRange | None = Field(default_factory=OutOfRange)
    fairness: Fairness | None = Field(
        default=None, description="Alert when demographic parity widens (rules are fleet-wide)."
    )
    prediction_share: Threshold | None = Field(
        default=None,
        description="Classifiers: the largest change of any predicted class's share against "
        "the reference (0.15 = 15 points), read over the quality window (performance.window, "
        "else window); critical triggers with the sustain and suppression of feature drift.",
    )


class ModelOverride(Strict):
    """Per-model changes to the defaults; unset keys inherit."""

    enabled: bool = True
    window: Duration | None = None
    min_samples: int | None = Field(default=None, ge=1)
    sustain: Duration | None = None
    sustain_fraction: float | None = Field(default=None, gt=0, le=1)
    cooldown: Duration | None = None
    max_triggers_per_week: int | None = Field(default=None, ge=0)
    min_drifted_features: int | None = Field(default=None, ge=1)
    min_drifted_share: float | None = Field(default=None, ge=0, le=1)
    sample_size_aware: SampleSizeAware | None = None
    thresholds: Thresholds | None = None
    features: dict[str, FeatureOverride] = Field(default_factory=dict)
    # Replace the defaults' block as a whole (a partial block would be ambiguous).
    performance: PerformanceSettings | None = None
    schedule: Schedule | None = None
    detection: Detection | None = None
    out_of_range: OutOfRange | None = None
    prediction_share: Threshold | None = None


class DriftPolicy(Document):
    api_version: Literal["driftloop/v1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["DriftPolicy"] = "DriftPolicy"
    defaults: DriftSettings = Field(default_factory=DriftSettings)
    models: dict[str, ModelOverride] = Field(default_factory=dict)
    recorded_windows: list[Annotated[str, AfterValidator(_duration_text)]] = Field(
        default_factory=lambda: list(RECORDED_WINDOWS),
        min_length=1,
        description="PSI windows the recording rules record (driftloop:feature_psi:<w>); "
        "generated into the PrometheusRule. The demo's policy records a 15s window.",
    )
    # settings_for and thresholds_for run per feature per point of a fleet-wide check
    _settings_of: dict[str, DriftSettings] = PrivateAttr(default_factory=dict)
    _thresholds_of: dict[tuple[str, str], Thresholds | None] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _windows_recorded(self) -> DriftPolicy:
        allowed = f"must be one of the recorded windows ({', '.join(self.recorded_windows)})"
        recorded = {parse_duration(w) for w in self.recorded_windows}
        for index, text in enumerate(self.recorded_windows):
            if parse_duration(text) > LONGEST_RAW and parse_duration(text) % timedelta(days=1):
                raise KeyedValueError(f"recorded_windows[{index}]", LONG_WINDOWS)
        blocks = {"defaults": self.defaults} | {f"models.{n}": o for n, o in self.models.items()}
        for prefix, block in blocks.items():
            for key in ("window", "performance", "detection", "fairness"):
                value = getattr(block, key, None)
                window = value if key == "window" or value is None else value.window
                if window is None:
                    continue
                name = f"{prefix}.{key}" + ("" if key == "window" else ".window")
                if window not in recorded:
                    raise KeyedValueError(name, allowed)
                if key != "window" and window > LONGEST_RAW:
                    raise KeyedValueError(name, LONG_WINDOWS)
            share = block.prediction_share
            if share is not None and share.critical > 1:
                raise KeyedValueError(f"{prefix}.prediction_share.critical", "a share: at most 1")
        return self

    def check_tasks(self, tasks: dict[str, str], source: str = "policies/drift.yaml") -> None:
        """A model's own performance thresholds must name metrics its task records (an AUC
        threshold on a regressor would wait for data forever)."""
        for name, task in tasks.items():
            override = self.models.get(name)
            if override is not None and override.prediction_share and task == "regression":
                raise ConfigError(
                    source, f"models.{name}.prediction_share",
                    f"{name} is a regression model: it predicts no classes",
                )  # fmt: skip
            if override is None or override.performance is None:
                continue
            recorded = RECORDED_FOR.get(task, ())
            for metric in override.performance.thresholds:
                if metric not in recorded:
                    raise ConfigError(
                        source,
                        f"models.{name}.performance.thresholds.{metric}",
                        f"{name} is a {task} model, for which feedback records "
                        f"{', '.join(recorded) or 'nothing'}",
                    )

    def quality_window_name(self, model: str) -> str | None:
        """The recorded window the check reads quality and class shares from: the model's
        performance window, else its decision window when it judges class shares."""
        settings = self.settings_for(model)
        if settings.performance is not None:
            return self.recorded_name(settings.performance.window)
        return self.window_name(model) if settings.prediction_share is not None else None

    def detection_window_name(self, model: str) -> str | None:
        """The recorded window fast detection reads for the model, if it detects at all."""
        detection = self.settings_for(model).detection
        if detection is None:
            return None
        return self.recorded_name(detection.window)

    def window_name(self, model: str) -> str:
        """The model's decision window as the recording rules spell it (``24h``, not ``1d``)."""
        return self.recorded_name(self.settings_for(model).window)

    def recorded_name(self, window: timedelta) -> str:
        return next(w for w in self.recorded_windows if parse_duration(w) == window)

    def settings_for(self, model: str) -> DriftSettings:
        """The defaults with the model's overrides applied."""
        if model not in self._settings_of:
            self._settings_of[model] = self._settings(model)
        return self._settings_of[model]

    def _settings(self, model: str) -> DriftSettings:
        override = self.models.get(model)
        if override is None:
            return self.defaults
        data = self.defaults.model_dump()
        data.update(
            override.model_dump(exclude_none=True, exclude={"enabled", "features", "thresholds"})
        )
        data["thresholds"] = self.defaults.thresholds.merged(override.thresholds).model_dump()
        return DriftSettings.model_validate(data)

    def thresholds_for(self, model: str, feature: str) -> Thresholds | None:
        """Effective thresholds for one feature, or None when the feature is ignored."""
        key = (model, feature)
        if key not in self._thresholds_of:
            self._thresholds_of[key] = self._thresholds(model, feature)
        return self._thresholds_of[key]

    def critical_psi_floor(self, model: str) -> float | None:
        """The lowest critical PSI of any feature of ``model`` (None: PSI never critical)."""
        override = self.models.get(model)
        named = [self.thresholds_for(model, f) for f in (override.features if override else {})]
        every = [*named, self.settings_for(model).thresholds]
        levels = [t.psi.critical for t in every if t is not None and t.psi is not None]
        return min(levels) if levels else None

    def _thresholds(self, model: str, feature: str) -> Thresholds | None:
        override = self.models.get(model)
        thresholds = self.settings_for(model).thresholds
        if override is None or feature not in override.features:
            return thresholds
        feature_override = override.features[feature]
        if feature_override.ignore:
            return None
        return thresholds.merged(feature_override)

    def uses_hellinger(self, model: str) -> bool:
        """Does any of the model's features have Hellinger thresholds?"""
        override = self.models.get(model)
        features = list(override.features) if override else []
        named = (self.thresholds_for(model, feature) for feature in features)
        every = [self.settings_for(model).thresholds, *named]
        return any(t is not None and t.hellinger is not None for t in every)

    def check_recorded(self, source: str = "policies/drift.yaml") -> None:
        """The check reads PSI and Hellinger from Prometheus; Wasserstein and Jensen-Shannon
        thresholds (the offline engine's) would be ignored there, so they are refused."""
        blocks: list[tuple[str, Thresholds | FeatureOverride | None]] = [
            ("defaults.thresholds", self.defaults.thresholds)
        ]
        for name, override in self.models.items():
            blocks.append((f"models.{name}.thresholds", override.thresholds))
            blocks += [(f"models.{name}.features.{f}", o) for f, o in override.features.items()]
        for where, block in blocks:
            for statistic in UNRECORDED:
                if block is not None and getattr(block, statistic) is not None:
                    raise ConfigError(
                        source, f"{where}.{statistic}",
                        "the recording rules record psi and hellinger only; driftloop check "
                        f"cannot judge {statistic} (use it with `driftloop drift`)",
                    )  # fmt: skip

    def enabled(self, model: str) -> bool:
        override = self.models.get(model)
        return override is None or override.enabled


def load_drift_policy(path: Path = Path("policies/drift.yaml")) -> DriftPolicy:
    return load_document(DriftPolicy, path)
