"""Scheduled retrains: once per calendar period (UTC), whatever drift says.

A due period is dispatched with reason ``schedule`` and its own trigger id
(``<model>-schedule-<period start>``), so retries find it and it is counted apart from drift:
it spends neither the drift cooldown nor the weekly cap, and is not blocked by them. It waits
while a driftloop PR for the model is open or a retrain is queued or running, and stays due
until its period ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from driftloop.config import DriftSettings
from driftloop.policy.decision import Decision
from driftloop.policy.signals import SCHEDULE_MARK, History
from driftloop.policy.suppression import suppression

__all__ = ["period_start", "scheduled"]


def period_start(now: datetime, schedule: str) -> datetime:
    """Start of the calendar period (UTC) ``now`` falls in."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == "daily":
        return day
    if schedule == "weekly":
        return day - timedelta(days=day.weekday())  # Monday
    return day.replace(day=1)


def scheduled(model: str, now: datetime, history: History, settings: DriftSettings) -> Decision:
    assert settings.schedule is not None
    start = period_start(now, settings.schedule)
    episode = f"{model}{SCHEDULE_MARK}{start.strftime('%Y%m%d')}"
    evidence = {"schedule": {"every": settings.schedule, "period_start": start.isoformat()}}
    if any(d.trigger_id == episode for d in history.dispatches):
        reason = f"{settings.schedule} retrain already dispatched this period ({episode})"
        return Decision(model, "ok", [reason], evidence, at=now, signal="schedule")
    due = f"{settings.schedule} retrain due (period from {start.date().isoformat()})"
    blocked = suppression(model, now, episode, history, settings, enforce_limits=False)
    if blocked is not None:
        return Decision(model, "suppressed", [due, blocked], evidence, episode, now, "schedule")
    return Decision(model, "trigger", [due], evidence, episode, now, "schedule")
