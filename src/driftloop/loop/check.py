"""One run of the drift check: query every model, decide, then dispatch.

All queries happen before any dispatch, so a Prometheus failure half way dispatches nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from driftloop.adapters.prometheus import MetricsSource
from driftloop.adapters.repohost import RepoHost, compact_evidence
from driftloop.config import DriftPolicy
from driftloop.gitops.inputs import MAX_REASON_CHARS
from driftloop.policy import Decision, History, Snapshot, decide
from driftloop.policy.schedule import period_start
from driftloop.policy.signals import QualitySignal

__all__ = [
    "CheckRun",
    "dispatch_reason",
    "lookback",
    "run_check",
    "timelines",
    "with_fast",
    "with_quality",
]


# How a dispatch's reason names the signal that fired (the PR body shows the reason).
LABELS = {
    "feature_drift": "drift",
    "realised_performance": "performance",
    "estimated_performance": "estimated performance",
    "prediction_share": "class shares",
    "schedule": "schedule",
}


def dispatch_reason(decision: Decision) -> str:
    """The signal and its reasons, cut to what ``driftloop retrain --reason`` accepts (the
    evidence input carries the details)."""
    text = f"{LABELS.get(decision.signal or '', 'drift')}: " + "; ".join(decision.reasons)
    if len(text) <= MAX_REASON_CHARS:
        return text
    return text[: MAX_REASON_CHARS - 3].rstrip() + "..."


def lookback(policy: DriftPolicy, model: str) -> timedelta:
    """How much history a decision reads: the sustain period plus the longer of sustain and
    cooldown. While a drift episode's start lies within it, the episode keeps its trigger id,
    so a lasting shift is dispatched once, not again when the cooldown ends; an episode
    still unaddressed after that long is dispatched again (within the weekly cap)."""
    settings = policy.settings_for(model)
    quality = settings.performance.sustain if settings.performance else timedelta(0)
    sustain = max(settings.sustain, quality)
    return sustain + max(sustain, settings.cooldown)


@dataclass
class CheckRun:
    decisions: list[Decision]
    dispatched: dict[str, str] = field(default_factory=dict)


def timelines(
    source: MetricsSource, policy: DriftPolicy, models: list[str], now: datetime,
    step: timedelta,
) -> dict[str, list[Snapshot]]:  # fmt: skip
    """Every model's history up to ``now`` and its current snapshot, in a fixed number of
    queries per decision window (and per lookback, when models' sustain or cooldown differ),
    however many models there are. History holds only the features whose PSI reached the
    lowest critical threshold among the models, the only ones that can make a past point
    critical; ``min_drifted_share`` counts every judged feature, so models that set it read
    all of theirs. A model whose PSI is never critical needs no history."""
    by_window: dict[str, list[str]] = defaultdict(list)
    for model in dict.fromkeys(models):
        by_window[policy.window_name(model)].append(model)
    result: dict[str, list[Snapshot]] = {}
    for window, names in by_window.items():
        shape = any(policy.settings_for(m).sample_size_aware.enabled for m in names)
        hellinger = any(policy.uses_hellinger(m) for m in names)
        current = source.current(names, window, now, shape, hellinger)
        by_span: dict[timedelta, list[str]] = defaultdict(list)
        for name in names:
            by_span[lookback(policy, name)].append(name)
        for span, group in by_span.items():
            # min_drifted_share counts every judged feature, and a Hellinger level can be
            # critical below the PSI floor: such models read all their features
            complete = [
                m
                for m in group
                if policy.settings_for(m).min_drifted_share > 0 or policy.uses_hellinger(m)
            ]
            floors = {m: policy.critical_psi_floor(m) for m in group if m not in complete}
            filtered = [m for m, floor in floors.items() if floor is not None]
            floor = min((f for f in floors.values() if f is not None), default=0.0)
            earlier = source.history(
                filtered, window, now - span, now, step, floor, complete, shape, hellinger
            )
            for name in group:
                past = [s for s in earlier.get(name, []) if s.at < now]
                result[name] = [*past, current[name]]
    _add_quality(source, policy, list(dict.fromkeys(models)), now, step, result)
    _add_fast(source, policy, list(dict.fromkeys(models)), now, step, result)
    return result


def _add_fast(
    source: MetricsSource, policy: DriftPolicy, models: list[str], now: datetime,
    step: timedelta, result: dict[str, list[Snapshot]],
) -> None:  # fmt: skip
    """The signals over each model's detection window for its hold and keep periods (one
    range of history, as for the decision window): a fixed number of queries per detection
    window, whatever the number of models."""
    groups: dict[tuple[str, timedelta], list[str]] = defaultdict(list)
    for model in models:
        window = policy.detection_window_name(model)
        detection = policy.settings_for(model).detection
        if window is not None and detection is not None:
            groups[(window, detection.hold + detection.keep)].append(model)
    for (window, span), names in groups.items():
        start = now - step * math.ceil(span / step)  # on the grid that ends at now
        floors = [f for f in map(policy.critical_psi_floor, names) if f is not None]
        found = source.history(names, window, start, now, step, min(floors, default=0.0),
                               shape=True)  # fmt: skip
        quality = source.quality(names, window, start, now, step)
        for name in names:
            fast = with_quality(found.get(name, []), quality.get(name, {}), now)
            result[name] = with_fast(result[name], fast)


def _add_quality(
    source: MetricsSource, policy: DriftPolicy, models: list[str], now: datetime,
    step: timedelta, result: dict[str, list[Snapshot]],
) -> None:  # fmt: skip
    """Recorded quality and class shares for the models whose policy judges them: one query
    per quality window and lookback, whatever the number of models."""
    groups: dict[tuple[str, timedelta], list[str]] = defaultdict(list)
    for model in models:
        window = policy.quality_window_name(model)
        if window is not None:
            groups[(window, lookback(policy, model))].append(model)
    for (window, span), names in groups.items():
        found = source.quality(names, window, now - span, now, step)
        for name in names:
            result[name] = with_quality(result[name], found.get(name, {}), now)


def with_quality(
    snapshots: list[Snapshot], quality: dict[datetime, dict[str, QualitySignal]], now: datetime
) -> list[Snapshot]:
    """``snapshots`` with each point's quality attached; points with quality alone are added.
    Prometheus answers in milliseconds: its last point is ``now``'s."""
    return _attach(
        snapshots,
        (
            (now if abs(when - now) < timedelta(milliseconds=1) else when, {"quality": signals})
            for when, signals in quality.items()
        ),
    )


def with_fast(snapshots: list[Snapshot], fast: list[Snapshot]) -> list[Snapshot]:
    """``snapshots`` with each point's detection-window signals attached (for backtests)."""
    return _attach(snapshots, ((point.at, {"fast": point}) for point in fast))


def _attach(
    snapshots: list[Snapshot], fields: Iterable[tuple[datetime, dict[str, Any]]]
) -> list[Snapshot]:
    """``snapshots`` with fields set on the point at each time (an empty point if none)."""
    by_time = {s.at: s for s in snapshots}
    for at, values in fields:
        by_time[at] = replace(by_time.get(at, Snapshot(at, {})), **values)
    return [by_time[at] for at in sorted(by_time)]


def history_start(policy: DriftPolicy, models: list[str], now: datetime) -> datetime:
    """How far back the check needs dispatches: every model's lookback, the weekly cap's 7
    days, and the current period of each schedule (its trigger id dedups it)."""
    starts = [now - timedelta(days=7)]
    for model in models:
        settings = policy.settings_for(model)
        starts.append(now - lookback(policy, model))
        if settings.schedule is not None:
            starts.append(period_start(now, settings.schedule))
    return min(starts)


def run_check(
    models: list[str],
    source: MetricsSource,
    host: RepoHost | None,
    policy: DriftPolicy,
    now: datetime,
    step: timedelta,
    dry_run: bool = False,
) -> CheckRun:
    """Decide for every model, from a fixed number of Prometheus queries and repo host
    requests per run, however many models there are."""
    names = list(dict.fromkeys(models))
    histories = (
        host.retrain_histories(names, now, history_start(policy, names, now)) if host else {}
    )
    by_model = timelines(source, policy, names, now, step)
    decisions = [
        decide(model, now, by_model[model], histories.get(model, History()), policy, step)
        for model in names
    ]
    run = CheckRun(decisions)
    if dry_run or host is None:
        return run
    for decision in decisions:
        if decision.decision == "trigger" and decision.trigger_id is not None:
            reason = dispatch_reason(decision)
            run.dispatched[decision.model] = host.dispatch_retrain(
                decision.model,
                reason,
                decision.trigger_id,
                compact_evidence(decision.evidence),
                now,
                False,
            )
    return run
