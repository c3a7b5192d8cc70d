"""One run of the drift check: query every model, decide, then dispatch.

All queries happen before any dispatch, so a Prometheus failure half way dispatches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from driftloop.adapters.prometheus import MetricsSource
from driftloop.adapters.repohost import RepoHost, compact_evidence
from driftloop.config import DriftPolicy
from driftloop.policy import Decision, History, Snapshot, decide

__all__ = ["CheckRun", "lookback", "run_check"]


def lookback(policy: DriftPolicy, model: str) -> timedelta:
    """How much history a decision reads: the sustain period plus the longer of sustain and
    cooldown. While a drift episode's start lies within it, the episode keeps its trigger id,
    so a lasting shift is dispatched once, not again when the cooldown ends; an episode
    still unaddressed after that long is dispatched again (within the weekly cap)."""
    settings = policy.settings_for(model)
    return settings.sustain + max(settings.sustain, settings.cooldown)


@dataclass
class CheckRun:
    decisions: list[Decision]
    dispatched: dict[str, str] = field(default_factory=dict)


def timeline_for(
    source: MetricsSource, policy: DriftPolicy, model: str, now: datetime, step: timedelta
) -> list[Snapshot]:
    window = policy.window_name(model)
    earlier = source.timeline(model, window, now - lookback(policy, model), now, step)
    current = source.snapshot(model, window, now)
    return [s for s in earlier if s.at < now] + [current]


def run_check(
    models: list[str],
    source: MetricsSource,
    host: RepoHost | None,
    policy: DriftPolicy,
    now: datetime,
    step: timedelta,
    dry_run: bool = False,
) -> CheckRun:
    decisions = []
    for model in models:
        history = host.retrain_history(model, now) if host is not None else History()
        timeline = timeline_for(source, policy, model, now, step)
        decisions.append(decide(model, now, timeline, history, policy, step))
    run = CheckRun(decisions)
    if dry_run or host is None:
        return run
    for decision in decisions:
        if decision.decision == "trigger" and decision.trigger_id is not None:
            reason = "drift: " + "; ".join(decision.reasons)
            run.dispatched[decision.model] = host.dispatch_retrain(
                decision.model,
                reason,
                decision.trigger_id,
                compact_evidence(decision.evidence),
                now,
                False,
            )
    return run
