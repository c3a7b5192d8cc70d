"""``models/<name>/model.yaml`` (kind: Model): what a model is trained on and how."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from driftloop.config.base import (
    API_VERSION,
    Document,
    Duration,
    KeyedValueError,
    Strict,
    load_document,
)
from driftloop.config.retrain import RetrainSpec
from driftloop.errors import ConfigError

__all__ = [
    "DataSpec",
    "EstimatorSpec",
    "FeatureSpec",
    "ModelSpec",
    "ProfileSpec",
    "SearchRange",
    "SearchSpec",
    "load_model",
]

FeatureType = Literal["numeric", "categorical", "text"]
Task = Literal["binary_classification", "multiclass_classification", "regression"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class FeatureSpec(Strict):
    name: str = Field(min_length=1)
    type: FeatureType
    description: str | None = None


class DataSpec(Strict):
    """Where the data lives: local paths, fsspec URIs, or ``demo://<model>/<scenario>``."""

    train: str = Field(
        min_length=1,
        description="Labelled, timestamped training data: a path, an fsspec URI, or a template "
        "over daily partitions with {date} (YYYY-MM-DD), e.g. "
        "s3://lake/churn/date={date}/part.parquet; demo://<model>/<scenario> for the examples.",
    )
    window: Duration | None = Field(
        default=None,
        description="Train on the latest window of data up to the retrain (e.g. 90d): only "
        "rows whose timestamp falls in it, and with {date} only those days' partitions.",
    )
    reference: str | None = Field(
        default=None, description="Data the reference profile is built from; train if unset."
    )
    golden: str | None = Field(
        default=None, description="A trusted labelled set every gate evaluation also uses."
    )


class SearchRange(Strict):
    """One hyper-parameter's range: ``low``/``high`` (``log`` for a log scale, ``integer``
    for whole numbers), or a list of ``choices``."""

    low: float | None = Field(default=None, strict=False)
    high: float | None = Field(default=None, strict=False)
    log: bool = False
    integer: bool = Field(default=False, description="Whole numbers between low and high.")
    choices: list[str | bool | int | float | None] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _range(self) -> SearchRange:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise KeyedValueError("choices", "give choices or low/high, not both")
            return self
        if self.low is None or self.high is None:
            raise KeyedValueError(
                "low" if self.low is None else "high", "a range needs low and high"
            )
        if self.low > self.high:
            raise KeyedValueError("low", f"{self.low:g} is above high ({self.high:g})")
        if self.log and self.low <= 0:
            raise KeyedValueError("low", "a log-scale range must be above 0")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise KeyedValueError("low", "an integer range needs whole-number bounds")
        return self


class SearchSpec(Strict):
    """A hyper-parameter search (Optuna, TPE) run by retrain before the final fit."""

    params: dict[str, SearchRange] = Field(min_length=1)
    n_trials: int = Field(default=20, ge=1, le=10_000)
    timeout: Duration | None = Field(
        default=None, description="Stop starting trials after this long (e.g. 30m)."
    )
    seed: int = Field(default=0, ge=0, description="The TPE sampler's seed.")
    validation_share: float = Field(
        default=0.2, gt=0, le=0.5,
        description="The newest share of the training rows each trial is scored on.",
    )  # fmt: skip


class EstimatorSpec(Strict):
    class_: str = Field(
        alias="class",
        pattern=r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$",
        description="Dotted path of a scikit-learn estimator class.",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    search: SearchSpec | None = Field(
        default=None, description="Search these parameters with Optuna before fitting."
    )


class ProfileSpec(Strict):
    bins: int = Field(default=10, ge=2, le=100, description="Quantile bins per numeric feature.")
    top_k: int = Field(default=20, ge=1, le=1000, description="Categories kept before __other__.")


class ModelSpec(Document):
    api_version: Literal["driftloop/v1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Model"] = "Model"
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    intended_use: str | None = Field(
        default=None, description="What the model is for and who uses it (the model card's)."
    )
    out_of_scope: list[str] = Field(
        default_factory=list, description="Uses the model is not meant for (model card)."
    )
    limitations: list[str] = Field(
        default_factory=list, description="Known limits a reviewer should weigh (model card)."
    )
    task: Task
    target: str = Field(min_length=1)
    timestamp: str | None = Field(default=None, description="Column used for the time split.")
    features: list[FeatureSpec] = Field(min_length=1)
    sensitive_attribute: str | None = Field(
        default=None, description="Column whose groups the fairness gates compare."
    )
    data: DataSpec
    estimator: EstimatorSpec | None = None
    train_hook: str | None = Field(
        default=None, description="A train.py beside model.yaml defining build_pipeline(spec)."
    )
    profile: ProfileSpec = Field(default_factory=ProfileSpec)
    retrain: RetrainSpec = Field(
        default_factory=RetrainSpec,
        description="Where the model retrains: GitHub Actions (default) or Argo Workflows.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        seen: set[str] = set()
        for index, feature in enumerate(self.features):
            if feature.name in seen:
                raise KeyedValueError(
                    f"features[{index}].name", f"{feature.name!r} is listed twice"
                )
            seen.add(feature.name)
        if self.target in seen:
            raise KeyedValueError("target", f"{self.target!r} is also listed as a feature")
        if self.timestamp is not None and self.timestamp in seen:
            raise KeyedValueError("timestamp", f"{self.timestamp!r} is also listed as a feature")
        if self.estimator is None and self.train_hook is None:
            raise KeyedValueError("estimator", "give an estimator or a train_hook")
        if (self.data.window or "{date}" in self.data.train) and self.timestamp is None:
            raise KeyedValueError("data.window", "a training window needs a timestamp column")
        if "{date}" in self.data.train and self.data.window is None:
            raise KeyedValueError("data.window", "a {date} template needs a window (e.g. 90d)")
        if "{date}" in self.data.train and self.data.reference is None:
            raise KeyedValueError(
                "data.reference", "a {date} template needs the reference data drift is judged by"
            )
        if self.retrain.workers > 1 and (self.estimator is None or self.estimator.search is None):
            raise KeyedValueError("retrain.workers", "fans out estimator.search, which is not set")
        return self

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def feature_types(self) -> dict[str, FeatureType]:
        return {feature.name: feature.type for feature in self.features}


FLAT_SUFFIX = ".model.yaml"


def model_file(name: str, models_dir: Path) -> Path:
    """``<dir>/<name>/model.yaml`` (the repository), else ``<dir>/<name>.model.yaml`` (the
    flat layout of the ConfigMap that carries models/ into the drift-check pod)."""
    nested = models_dir / name / "model.yaml"
    flat = models_dir / f"{name}{FLAT_SUFFIX}"
    return flat if not nested.exists() and flat.exists() else nested


def model_files(models_dir: Path) -> dict[str, Path]:
    """Every model's file under ``models_dir``, in either layout, by model name."""
    found = {p.name.removesuffix(FLAT_SUFFIX): p for p in models_dir.glob(f"*{FLAT_SUFFIX}")}
    found.update({p.parent.name: p for p in models_dir.glob("*/model.yaml")})
    return dict(sorted(found.items()))


def load_model(name_or_path: str | Path, models_dir: Path = Path("models")) -> ModelSpec:
    """Load a model by name (``models/<name>/model.yaml``) or by the path of its file."""
    path = Path(name_or_path)
    if path.suffix not in {".yaml", ".yml"}:
        path = model_file(str(name_or_path), models_dir)
    spec = load_document(ModelSpec, path)
    if path.name == "model.yaml" and path.parent.name != spec.name:
        raise ConfigError(str(path), "name", f"{spec.name!r} does not match its folder")
    if path.name.endswith(FLAT_SUFFIX) and path.name.removesuffix(FLAT_SUFFIX) != spec.name:
        raise ConfigError(str(path), "name", f"{spec.name!r} does not match its file name")
    return spec
