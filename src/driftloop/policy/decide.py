"""The trigger decision for one model at one time.

A model triggers a retrain only when drift is *critical* (PSI at or above the critical
threshold, on enough rows, in enough features) for at least ``sustain_fraction`` of the
``sustain`` period, and nothing suppresses it: cooldown since the last dispatch, the weekly cap,
an open driftloop PR, a retrain already queued or running, or this drift episode already
dispatched. A weekend marketing push is critical for hours, not for the sustain period: it
warns and never retrains; a lasting shift does (seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from driftloop.config import DriftPolicy, DriftSettings, format_duration
from driftloop.config.drift_policy import Thresholds
from driftloop.policy.signals import FeatureSignal, History, Snapshot

__all__ = ["Decision", "State", "classify", "decide", "suppression", "trigger_id"]

Verdict = Literal["trigger", "warn", "ok", "insufficient_data", "suppressed"]
State = Literal["critical", "warn", "ok", "insufficient_data"]
TOP_FEATURES = 5


@dataclass(frozen=True)
class Decision:
    model: str
    decision: Verdict
    reasons: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)
    trigger_id: str | None = None
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "decision": self.decision,
            "reasons": self.reasons,
            "evidence": self.evidence,
        }
        if self.trigger_id is not None:
            data["trigger_id"] = self.trigger_id
        if self.at is not None:
            data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True)
class Classified:
    state: State
    critical: list[FeatureSignal]
    warn: list[FeatureSignal]
    judged: list[FeatureSignal]
    thin: list[FeatureSignal]


def _noise_ok(signal: FeatureSignal, settings: DriftSettings) -> bool:
    """Sample-size-aware check: PSI * n*m/(n+m) against the chi-squared (1 - alpha) quantile
    with bins - 1 degrees of freedom (PSI is about chi-squared / effective n under no drift)."""
    if not settings.sample_size_aware.enabled or not signal.bins or signal.bins < 2:
        return True
    n = signal.reference_rows or float("inf")
    m = signal.samples
    effective = m if n == float("inf") else n * m / (n + m)
    return signal.psi * effective > _chi2_quantile(
        1 - settings.sample_size_aware.alpha, signal.bins - 1
    )


@cache
def _chi2_quantile(level: float, dof: int) -> float:
    from scipy import stats  # only noise-aware policies pay for scipy, once per (level, dof)

    return float(stats.chi2.ppf(level, dof))


def classify(
    snapshot: Snapshot, model: str, policy: DriftPolicy, settings: DriftSettings
) -> Classified:
    critical, warn, judged, thin = [], [], [], []
    for name, signal in sorted(snapshot.features.items()):
        thresholds: Thresholds | None = policy.thresholds_for(model, name)
        if thresholds is None or thresholds.psi is None:
            continue  # ignored feature, or no PSI threshold for it
        if signal.samples < settings.min_samples:
            thin.append(signal)
            continue
        judged.append(signal)
        if not _noise_ok(signal, settings):
            continue
        if signal.psi >= thresholds.psi.critical:
            critical.append(signal)
        elif signal.psi >= thresholds.psi.warn:
            warn.append(signal)
    state: State
    if not judged:
        state = "insufficient_data"
    elif len(critical) >= settings.min_drifted_features and (
        len(critical) / len(judged) >= settings.min_drifted_share
    ):
        state = "critical"
    elif critical or warn:
        state = "warn"
    else:
        state = "ok"
    return Classified(state, critical, warn, judged, thin)


def trigger_id(model: str, episode_start: datetime) -> str:
    """Stable for one drift episode, so a retried CronJob finds its own dispatch."""
    return f"{model}-{episode_start.strftime('%Y%m%dT%H%MZ')}"


def _episode_start(states: list[tuple[datetime, State]], tolerance: timedelta) -> datetime | None:
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


def _evidence(
    classified: Classified, fraction: float, since: datetime | None, settings: DriftSettings
) -> dict[str, Any]:
    top = sorted(classified.judged, key=lambda s: s.psi, reverse=True)[:TOP_FEATURES]
    return {
        "window": format_duration(settings.window),
        "top_features": [
            {"feature": s.feature, "psi": round(s.psi, 4), "samples": int(s.samples)} for s in top
        ],
        "critical_features": [s.feature for s in classified.critical],
        "critical_fraction": round(fraction, 3),
        "sustain": format_duration(settings.sustain),
        "since": since.isoformat() if since else None,
        "versions": sorted({s.version for s in classified.judged if s.version}),
    }


def suppression(
    model: str,
    now: datetime,
    episode: str,
    history: History,
    settings: DriftSettings,
    enforce_limits: bool = True,
    since: datetime | None = None,
) -> str | None:
    """Why a dispatch must not happen now, or None. Deduplication always applies; cooldown
    and the weekly cap unless ``enforce_limits`` is False (a forced manual trigger).

    ``since`` is when the current critical run began; a run that began before the history
    the check reads is open-ended, and counts as the episode of any dispatch in the last
    seven days: a lasting shift nobody acted on is re-dispatched at most once a week."""
    past = [d.at for d in history.dispatches if d.at <= now]
    last = max(past) if past else None
    week = [at for at in past if now - at < timedelta(days=7)]
    cap = settings.max_triggers_per_week
    same_episode = any(d.trigger_id == episode for d in history.dispatches) or (
        since is not None and any(at >= since for at in past)
    )
    reasons = [
        (same_episode, f"already dispatched for this drift episode ({episode})"),
        (
            history.open_pull_request is not None,
            f"a driftloop pull request for {model} is open ({history.open_pull_request})",
        ),
        (
            history.active_run is not None,
            f"a retrain for {model} is queued or running ({history.active_run})",
        ),
        (
            enforce_limits and last is not None and now - last < settings.cooldown,
            (
                f"cooldown: last dispatch {last.isoformat() if last else ''}, next allowed "
                f"after {(last + settings.cooldown).isoformat() if last else ''}"
            ),
        ),
        (
            enforce_limits and len(week) >= cap,
            f"weekly cap: {len(week)} dispatch(es) in 7 days (max {cap})",
        ),
    ]
    return next((reason for applies, reason in reasons if applies), None)


def _not_sustained(
    model: str, now: datetime, classified: Classified, fraction: float, evidence: dict[str, Any],
    settings: DriftSettings,
) -> Decision:  # fmt: skip
    need = f"{settings.sustain_fraction:.0%} of {format_duration(settings.sustain)}"
    reasons = [f"critical for {fraction:.0%} of the sustain period; a trigger needs {need}"]
    if classified.state == "critical":
        reasons.insert(0, f"critical now: {', '.join(s.feature for s in classified.critical)}")
    elif classified.warn:
        reasons.insert(0, f"above warn: {', '.join(s.feature for s in classified.warn)}")
    else:
        reasons.insert(0, "below warn now")
    return Decision(model, "warn", reasons, evidence, at=now)


def decide(
    model: str,
    now: datetime,
    timeline: list[Snapshot],
    history: History,
    policy: DriftPolicy,
    step: timedelta,
) -> Decision:
    """Decide for ``model`` at ``now`` from snapshots up to ``now`` (oldest first, one every
    ``step``; the last is the current one) and the repo host's history."""
    settings = policy.settings_for(model)
    if not policy.enabled(model):
        return Decision(model, "suppressed", ["disabled in the drift policy"], at=now)
    current = timeline[-1] if timeline and timeline[-1].at == now else None
    classified = classify(current, model, policy, settings) if current else None
    if classified is None or classified.state == "insufficient_data":
        window = format_duration(settings.window)
        thin = (
            ", ".join(f"{s.feature} ({int(s.samples)})" for s in classified.thin)
            if classified
            else ""
        )
        reason = (
            f"fewer than {settings.min_samples} rows in the {window} window: {thin or 'no data'}"
        )
        evidence = _evidence(classified, 0.0, None, settings) if classified else {}
        return Decision(model, "insufficient_data", [reason], evidence, at=now)

    states = [(s.at, classify(s, model, policy, settings).state) for s in timeline]
    expected = max(int(settings.sustain / step), 1)
    window_start = now - settings.sustain
    critical_points = sum(1 for at, state in states if at > window_start and state == "critical")
    fraction = min(critical_points / expected, 1.0)
    since = _episode_start(states, settings.sustain * (1 - settings.sustain_fraction))
    evidence = _evidence(classified, fraction, since, settings)
    if classified.state == "ok" and critical_points == 0:
        return Decision(model, "ok", ["no feature above its warn threshold"], evidence, at=now)
    if classified.state != "critical" or fraction < settings.sustain_fraction or since is None:
        return _not_sustained(model, now, classified, fraction, evidence, settings)

    open_ended = since == timeline[0].at
    episode = trigger_id(model, since)
    sustain = format_duration(settings.sustain)
    reasons = [
        f"critical: {', '.join(s.feature for s in classified.critical)}",
        f"sustained: critical for {fraction:.0%} of {sustain} since {since.isoformat()}",
    ]
    continuing_from = now - timedelta(days=7) if open_ended else since
    suppressed = suppression(model, now, episode, history, settings, since=continuing_from)
    if suppressed is not None:
        return Decision(model, "suppressed", [*reasons, suppressed], evidence, episode, now)
    return Decision(model, "trigger", reasons, evidence, episode, now)
