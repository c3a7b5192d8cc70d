"""``policies/gates.yaml`` (kind: GatePolicy): what a candidate must show to be proposed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from driftloop.config.base import API_VERSION, Document, KeyedValueError, Strict, load_document

__all__ = [
    "METRICS_FOR_TASK",
    "ApprovalSettings",
    "GatePolicy",
    "GateSettings",
    "load_gate_policy",
]

PrimaryMetric = Literal["auto", "roc_auc", "f1_macro", "r2", "rmse", "mae"]
# What the gate can compute for each task (driftloop.gates.metrics); the primary metric and
# the absolute floors must come from here.
METRICS_FOR_TASK = {
    "binary_classification": ("roc_auc", "f1_macro", "accuracy", "brier"),
    "multiclass_classification": ("f1_macro", "accuracy"),
    "regression": ("r2", "rmse", "mae"),
}
_GATE_METRICS = frozenset(m for names in METRICS_FOR_TASK.values() for m in names)
_UNIT_INTERVAL = frozenset({"roc_auc", "f1_macro", "accuracy", "brier"})


def _floors(floors: dict[str, float] | None) -> dict[str, float] | None:
    for metric, floor in (floors or {}).items():
        if metric not in _GATE_METRICS:
            known = ", ".join(sorted(_GATE_METRICS))
            raise KeyedValueError(metric, f"no gate computes {metric!r} (known: {known})")
        if metric in _UNIT_INTERVAL and not 0 <= floor <= 1:
            raise KeyedValueError(metric, "must be between 0 and 1")
        if metric in {"rmse", "mae"} and floor < 0:
            raise KeyedValueError(metric, "must be at least 0")
        if metric == "r2" and floor > 1:
            raise KeyedValueError(metric, "must be at most 1")
    return floors


Floors = Annotated[dict[str, float], AfterValidator(_floors)]


class CanaryFeedback(Strict):
    """Live quality in the canary, for models whose labels arrive within it (docs/canary-
    analysis.md, canary-live-quality): at least ``min_labels`` on each side, and the canary's
    loss (wrong-answer share, or MAE) at most ``max_increase`` above the stable's."""

    min_labels: int = Field(default=500, ge=1)
    max_increase: float = Field(default=0.10, gt=0)


class GateSettings(Strict):
    primary_metric: PrimaryMetric = Field(
        default="auto",
        description="auto: roc_auc (binary), f1_macro (multi-class), r2 (regression).",
    )
    max_relative_regression: float = Field(default=0.05, ge=0, le=1)
    bootstrap_samples: int = Field(default=1000, ge=0, le=100_000)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    per_class_f1_floor: float = Field(default=0.70, ge=0, le=1)
    max_latency_increase: float = Field(default=0.20, ge=0)
    latency_noise_floor_seconds: float = Field(
        default=0.002,
        ge=0,
        description="p95 increases smaller than this pass whatever their ratio: at ~1 ms a "
        "prediction, scheduler noise alone moves p95 by more than 20%.",
    )
    latency_runs: int = Field(default=5, ge=1)
    latency_requests: int = Field(default=200, ge=10)
    fairness_max_widening: float = Field(
        default=0.03, ge=0, le=1, description="Demographic parity and equal opportunity."
    )
    min_eval_rows: int = Field(default=500, ge=1)
    absolute_floors: Floors = Field(
        default_factory=lambda: {"roc_auc": 0.70, "f1_macro": 0.60, "r2": 0.30},
        description="Used when there is no champion to compare with.",
    )
    golden_set: str | None = Field(default=None, description="Labelled data every gate also uses.")
    canary_feedback: CanaryFeedback | None = Field(
        default=None, description="Labels arrive within a canary: compare live quality there."
    )
    bandit_severity: Literal["low", "medium", "high"] = Field(
        default="high",
        description="Gate bandit-high: Bandit findings in models/<name>/ at this severity or "
        "above that the champion's stored scan lacks fail it (seed 001: HIGH).",
    )


class GateOverride(Strict):
    """Per-model changes to the defaults; unset keys inherit."""

    primary_metric: PrimaryMetric | None = None
    max_relative_regression: float | None = Field(default=None, ge=0, le=1)
    bootstrap_samples: int | None = Field(default=None, ge=0, le=100_000)
    confidence: float | None = Field(default=None, gt=0, lt=1)
    per_class_f1_floor: float | None = Field(default=None, ge=0, le=1)
    max_latency_increase: float | None = Field(default=None, ge=0)
    latency_noise_floor_seconds: float | None = Field(default=None, ge=0)
    latency_runs: int | None = Field(default=None, ge=1)
    latency_requests: int | None = Field(default=None, ge=10)
    fairness_max_widening: float | None = Field(default=None, ge=0, le=1)
    min_eval_rows: int | None = Field(default=None, ge=1)
    absolute_floors: Floors | None = None
    golden_set: str | None = None
    canary_feedback: CanaryFeedback | None = None
    bandit_severity: Literal["low", "medium", "high"] | None = None
    reviewers: list[str] | None = None


class ApprovalSettings(Strict):
    """What `driftloop promote` accepts as the human approval of a merged proposal."""

    require_code_owner: Literal["auto"] | bool = Field(
        default="auto",
        description="The approver must own every changed production path in CODEOWNERS (read "
        "at the base of the merge, not from the pull request) and have write access. auto and "
        "true: required, and a base without CODEOWNERS refuses every merge; false: any "
        "independent approver counts.",
    )
    min_approvals: int = Field(default=1, ge=1, le=10)
    bots: list[str] = Field(
        default_factory=lambda: ["driftloop[bot]"],
        description="Logins that never count as approvers (a login ending in [bot] never "
        "does either): the identity that opens the pull requests.",
    )


class GatePolicy(Document):
    api_version: Literal["driftloop/v1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["GatePolicy"] = "GatePolicy"
    defaults: GateSettings = Field(default_factory=GateSettings)
    models: dict[str, GateOverride] = Field(default_factory=dict)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)

    def settings_for(self, model: str) -> GateSettings:
        override = self.models.get(model)
        if override is None:
            return self.defaults
        data = self.defaults.model_dump()
        data.update(override.model_dump(exclude_none=True, exclude={"reviewers"}))
        return GateSettings.model_validate(data)


def load_gate_policy(path: Path = Path("policies/gates.yaml")) -> GatePolicy:
    return load_document(GatePolicy, path)
