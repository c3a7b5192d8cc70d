"""What the policy sees: recorded PSI per feature and model quality at points in time,
dispatch history, and which versions production serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "SCHEDULE_MARK",
    "Dispatch",
    "FeatureSignal",
    "History",
    "Production",
    "QualitySignal",
    "Snapshot",
]


@dataclass(frozen=True)
class FeatureSignal:
    feature: str
    psi: float
    samples: float
    version: str = ""
    reference_rows: float | None = None
    bins: int | None = None
    min_share: float | None = None  # the smallest non-zero reference bin share
    hellinger: float | None = None  # recorded when the policy sets hellinger thresholds
    # share of the window's rows beyond |z| > 4, minus the reference's own share
    out_of_range: float | None = None


@dataclass(frozen=True)
class QualitySignal:
    """One recorded quality metric (``roc_auc``, ``estimated_roc_auc``, ``mae``, ...) and the
    rows behind it: labelled rows, or scored rows for an estimate."""

    metric: str
    value: float
    rows: float
    version: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Every feature's recorded PSI and sample count, and the model's recorded quality, for
    one model at one time."""

    at: datetime
    features: dict[str, FeatureSignal]
    quality: dict[str, QualitySignal] = field(default_factory=dict)
    # the same signals over the policy's detection window (fast detection), if it has one
    fast: Snapshot | None = None


SCHEDULE_MARK = "-schedule-"  # in the trigger id of a scheduled retrain


@dataclass(frozen=True)
class Dispatch:
    at: datetime
    trigger_id: str
    manual: bool = False

    @property
    def scheduled(self) -> bool:
        return SCHEDULE_MARK in self.trigger_id


@dataclass(frozen=True)
class History:
    """What the repo host knows: past dispatches, and work in flight for the model."""

    dispatches: tuple[Dispatch, ...] = ()
    open_pull_request: str | None = None
    active_run: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Production:
    """What a model's production pods report now (``reconcile`` judges it)."""

    served: frozenset[str]  # versions whose production pods report telemetry now
    aborted: bool  # the model's Rollout is Degraded: Argo Rollouts aborted its canary
