"""What the policy sees: recorded PSI per feature at points in time, and dispatch history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Dispatch", "FeatureSignal", "History", "Snapshot"]


@dataclass(frozen=True)
class FeatureSignal:
    feature: str
    psi: float
    samples: float
    version: str = ""
    reference_rows: float | None = None
    bins: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Every feature's recorded PSI and sample count for one model at one time."""

    at: datetime
    features: dict[str, FeatureSignal]


@dataclass(frozen=True)
class Dispatch:
    at: datetime
    trigger_id: str
    manual: bool = False


@dataclass(frozen=True)
class History:
    """What the repo host knows: past dispatches, and work in flight for the model."""

    dispatches: tuple[Dispatch, ...] = ()
    open_pull_request: str | None = None
    active_run: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
