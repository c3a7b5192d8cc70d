"""Replay the policy over history: the would-be triggers, with cooldown and cap simulated.

Uses ``decide`` itself, on the same snapshots a live check at each step would read, so a
backtest and live checks over the same history agree. Not simulated: PRs left open and
retrains still running (each simulated retrain is taken to finish within a step).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from driftloop.config import DriftPolicy
from driftloop.policy.decide import decide
from driftloop.policy.decision import Decision
from driftloop.policy.signals import Dispatch, History, Snapshot

__all__ = ["ModelBacktest", "replay"]


@dataclass
class ModelBacktest:
    model: str
    triggers: list[Decision] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    suppressed: list[Decision] = field(default_factory=list)
    detections: list[Decision] = field(default_factory=list)  # the first point of each run

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "trigger_count": len(self.triggers),
            "decisions": dict(self.counts),
            "triggers": [
                {
                    "at": d.at.isoformat() if d.at else None,
                    "trigger_id": d.trigger_id,
                    "signal": d.signal,
                    "reasons": d.reasons,
                    "since": d.evidence.get("since"),
                    "top_features": d.evidence.get("top_features", [])[:3],
                }
                for d in self.triggers
            ],
            "detected": [
                {"at": d.at.isoformat() if d.at else None, "signal": d.signal, "reasons": d.reasons}
                for d in self.detections
            ],
            "suppressed_sustained_drift": [
                {"at": d.at.isoformat() if d.at else None, "reason": d.reasons[-1]}
                for d in self.suppressed
            ],
        }


def replay(
    model: str,
    snapshots: list[Snapshot],
    policy: DriftPolicy,
    start: datetime,
    end: datetime,
    step: timedelta,
    lookback: timedelta,
) -> ModelBacktest:
    """Decide at start, start + step, ... end, each time from the snapshots a live check
    would read then (those in [t - lookback, t])."""
    result = ModelBacktest(model)
    dispatches: list[Dispatch] = []
    by_time = sorted(snapshots, key=lambda s: s.at)
    at = start
    detecting = False
    while at <= end:
        timeline = [s for s in by_time if at - lookback <= s.at <= at]
        decision = decide(model, at, timeline, History(tuple(dispatches)), policy, step)
        result.counts[decision.decision] += 1
        if decision.decision == "detected" and not detecting:
            result.detections.append(decision)
        detecting = decision.decision == "detected"
        if decision.decision == "trigger" and decision.trigger_id:
            result.triggers.append(decision)
            dispatches.append(Dispatch(at, decision.trigger_id))
        elif decision.decision == "suppressed" and decision.trigger_id:
            result.suppressed.append(decision)
        at += step
    return result
