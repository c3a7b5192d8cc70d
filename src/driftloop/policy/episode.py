"""Drift and quality episodes: when a run of critical points began, and its trigger id."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

__all__ = ["episode_start", "trigger_id"]

State = Literal["critical", "warn", "ok", "insufficient_data"]


def trigger_id(model: str, episode_start: datetime) -> str:
    """Stable for one drift episode, so a retried CronJob finds its own dispatch."""
    return f"{model}-{episode_start.strftime('%Y%m%dT%H%MZ')}"


def episode_start(states: list[tuple[datetime, State]], tolerance: timedelta) -> datetime | None:
    """Start of the latest run of critical points, bridging gaps up to ``tolerance``."""
    start = None
    last_critical = None
    for at, state in reversed(states):
        if state == "critical":
            if last_critical is not None and last_critical - at > tolerance + timedelta(seconds=1):
                break
            start = at
            last_critical = at
        elif last_critical is None:
            continue  # not critical now; looking for the latest run
        elif last_critical - at > tolerance:
            break
    return start
