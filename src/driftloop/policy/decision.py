"""A trigger decision: what the check does about one model at one time, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

__all__ = ["VERDICTS", "Decision", "Verdict"]

# detected: a shift seen on the fast window; a state, never a dispatch
Verdict = Literal["trigger", "suppressed", "detected", "warn", "ok", "insufficient_data"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True)
class Decision:
    model: str
    decision: Verdict
    reasons: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)
    trigger_id: str | None = None
    at: datetime | None = None
    # What fired or warned: feature_drift, realised_performance, estimated_performance, schedule
    signal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "decision": self.decision,
            "reasons": self.reasons,
            "evidence": self.evidence,
        }
        if self.signal is not None:
            data["signal"] = self.signal
        if self.trigger_id is not None:
            data["trigger_id"] = self.trigger_id
        if self.at is not None:
            data["at"] = self.at.isoformat()
        return data
