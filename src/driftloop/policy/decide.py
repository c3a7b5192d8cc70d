"""The trigger decision for one model at one time.

A model triggers a retrain only when drift is *critical* (PSI at or above the critical
threshold, on enough rows, in enough features) for at least ``sustain_fraction`` of the
``sustain`` period, and nothing suppresses it: cooldown since the last dispatch, the weekly cap,
an open driftloop PR, a retrain already queued or running, or this drift episode already
dispatched. A weekend marketing push is critical for hours, not for the sustain period: it
warns and never retrains; a lasting shift does (seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from driftloop.config import DriftPolicy, DriftSettings, format_duration
from driftloop.config.drift_policy import PerformanceSettings, Thresholds
from driftloop.policy.decision import Decision, Verdict
from driftloop.policy.detection import detect, effective_rows
from driftloop.policy.episode import episode_start, trigger_id
from driftloop.policy.quality import judge, sustained
from driftloop.policy.schedule import scheduled
from driftloop.policy.signals import FeatureSignal, History, Snapshot
from driftloop.policy.suppression import suppression

__all__ = ["Decision", "State", "classify", "decide", "suppression", "trigger_id"]

State = Literal["critical", "warn", "ok", "insufficient_data"]
TOP_FEATURES = 5


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
    effective = effective_rows(signal.samples, signal.reference_rows)
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
    """Each feature's level: critical when any configured statistic (PSI, and Hellinger
    where the policy sets it and the rules recorded it) is at its critical level."""
    critical, warn, judged, thin = [], [], [], []
    for name, signal in sorted(snapshot.features.items()):
        thresholds: Thresholds | None = policy.thresholds_for(model, name)
        if thresholds is None or (thresholds.psi is None and thresholds.hellinger is None):
            continue  # ignored feature, or no recorded statistic judged for it
        if signal.samples < settings.min_samples:
            thin.append(signal)
            continue
        judged.append(signal)
        if not _noise_ok(signal, settings):
            continue
        levels = [(signal.psi, thresholds.psi)]
        if signal.hellinger is not None:
            levels.append((signal.hellinger, thresholds.hellinger))
        if any(t is not None and value >= t.critical for value, t in levels):
            critical.append(signal)
        elif any(t is not None and value >= t.warn for value, t in levels):
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


def _evidence(
    classified: Classified, fraction: float, since: datetime | None, settings: DriftSettings
) -> dict[str, Any]:
    top = sorted(classified.judged, key=lambda s: s.psi, reverse=True)[:TOP_FEATURES]
    return {
        "window": format_duration(settings.window),
        "top_features": [
            {"feature": s.feature, "psi": round(s.psi, 4), "samples": int(s.samples)}
            | ({"hellinger": round(s.hellinger, 4)} if s.hellinger is not None else {})
            for s in top
        ],
        "critical_features": [s.feature for s in classified.critical],
        "critical_fraction": round(fraction, 3),
        "sustain": format_duration(settings.sustain),
        "since": since.isoformat() if since else None,
        "versions": sorted({s.version for s in classified.judged if s.version}),
    }


def _too_short(fraction: float, settings: DriftSettings) -> str:
    need = f"{settings.sustain_fraction:.0%} of {format_duration(settings.sustain)}"
    return f"critical for {fraction:.0%} of the sustain period; a trigger needs {need}"


def _not_sustained(
    model: str, now: datetime, classified: Classified, fraction: float, evidence: dict[str, Any],
    settings: DriftSettings,
) -> Decision:  # fmt: skip
    reasons = [_too_short(fraction, settings)]
    if classified.state == "critical":
        reasons.insert(0, f"critical now: {', '.join(s.feature for s in classified.critical)}")
    elif classified.warn:
        reasons.insert(0, f"above warn: {', '.join(s.feature for s in classified.warn)}")
    else:
        reasons.insert(0, "below warn now")
    return Decision(model, "warn", reasons, evidence, at=now, signal="feature_drift")


RANK = {"insufficient_data": 0, "ok": 1, "warn": 2, "detected": 3, "suppressed": 4, "trigger": 5}
# evidence of the other signals that a decision carries along (the bodies show it)
CARRIED_EVIDENCE = (
    "realised_performance", "estimated_performance", "prediction_drift", "out_of_range",
    "prediction_share",
)  # fmt: skip


def decide(
    model: str,
    now: datetime,
    timeline: list[Snapshot],
    history: History,
    policy: DriftPolicy,
    step: timedelta,
) -> Decision:
    """Decide for ``model`` at ``now`` from snapshots up to ``now`` (oldest first, one every
    ``step``; the last is the current one) and the repo host's history. Feature drift,
    prediction drift, realised and estimated quality, the schedule and fast detection are each
    judged; the strongest verdict wins (trigger > suppressed > detected > warn > ok >
    insufficient_data, drift first on a tie) and the others' warnings join its reasons."""
    settings = policy.settings_for(model)
    if not policy.enabled(model):
        return Decision(model, "suppressed", ["disabled in the drift policy"], at=now)
    drift = _drift(model, now, timeline, history, policy, settings, step)
    others: list[Decision] = []
    if settings.performance is not None:
        others += _quality(model, now, timeline, history, settings, settings.performance, step)
        others += _prediction_drift(model, now, timeline, settings)
    others += _prediction_share(model, now, timeline, history, settings, step)
    if settings.schedule is not None:
        others.append(scheduled(model, now, history, settings))
    detected = detect(model, now, timeline, policy, settings)
    others += _out_of_range(model, now, timeline, settings)
    others += [detected] if detected is not None else []
    best = max([drift, *others], key=lambda d: RANK[d.decision])
    quiet = ("warn", "detected", "suppressed")
    warning = [d for d in (drift, *others) if d is not best and d.decision in quiet]
    notes = [f"{d.signal}: {d.reasons[0]}" for d in warning if d.reasons]
    evidence = dict(best.evidence)
    for d in (drift, *others):
        if d is not best and d.signal in CARRIED_EVIDENCE:
            evidence.setdefault(d.signal, d.evidence.get(d.signal))
    if best.decision in ("trigger", "suppressed"):
        # What fired and what only warned: the PR and issue bodies name them (not guessed
        # from which evidence blocks are present).
        evidence.update(signal=best.signal, warnings=[d.signal for d in warning])
    return replace(best, reasons=[*best.reasons, *notes], evidence=evidence)


def _out_of_range(
    model: str, now: datetime, timeline: list[Snapshot], settings: DriftSettings
) -> list[Decision]:
    """Features whose share of values beyond |z| > 4 is above the policy's: a warning beside
    PSI (a broken unit upstream), never a trigger."""
    limits = settings.out_of_range
    current = timeline[-1] if timeline and timeline[-1].at == now else None
    if limits is None or current is None:
        return []
    found = [
        s for s in current.features.values()
        if s.out_of_range is not None and s.out_of_range > limits.max_share
        and s.out_of_range * s.samples >= limits.min_rows
    ]  # fmt: skip
    if not found:
        return []
    reasons = [
        f"{s.feature}: {s.out_of_range:.1%} more rows beyond |z| > 4 than in the reference "
        f"(allowed {limits.max_share:.1%} more)"
        for s in sorted(found, key=lambda s: s.feature)
    ]
    evidence = {"out_of_range": {s.feature: round(s.out_of_range or 0.0, 4) for s in found}}
    return [Decision(model, "warn", reasons, evidence, at=now, signal="out_of_range")]


def _prediction_drift(
    model: str, now: datetime, timeline: list[Snapshot], settings: DriftSettings
) -> list[Decision]:
    """The model's output PSI over the quality window: a warning, never a trigger on its own
    (its inputs' drift or its quality decide; the canary's analysis acts on it at rollout)."""
    current = timeline[-1] if timeline and timeline[-1].at == now else None
    signal = current.quality.get("prediction_psi") if current else None
    psi = settings.thresholds.psi
    if signal is None or psi is None or signal.rows < settings.min_samples:
        return []
    evidence = {"prediction_drift": {"psi": round(signal.value, 4), "rows": int(signal.rows)}}
    for level, threshold in (("critical", psi.critical), ("warn", psi.warn)):
        if signal.value >= threshold:
            reason = f"prediction PSI {signal.value:.3f} >= {level} {threshold:g}"
            return [Decision(model, "warn", [reason], evidence, at=now, signal="prediction_drift")]
    return [Decision(model, "ok", ["prediction PSI below warn"], evidence, at=now,
                     signal="prediction_drift")]  # fmt: skip


def _quality(
    model: str, now: datetime, timeline: list[Snapshot], history: History,
    settings: DriftSettings, performance: PerformanceSettings, step: timedelta,
) -> list[Decision]:  # fmt: skip
    """Realised quality, then the estimate unless it is off."""
    kinds = [False] if performance.estimated == "off" else [False, True]
    window = format_duration(performance.window)
    decisions = []
    current = timeline[-1] if timeline and timeline[-1].at == now else Snapshot(now, {})
    for estimated in kinds:
        signal = "estimated_performance" if estimated else "realised_performance"
        state = judge(current, performance, estimated)
        evidence = {
            signal: {
                "window": window,
                "level": state.level,
                "breaches": [b.to_dict() for b in state.breaches],
                "min_labels": performance.min_labels,
            }
        }
        described = [b.describe(window) for b in state.breaches]
        if state.level == "insufficient_data":
            rows = "scored rows" if estimated else "labels"
            reason = f"fewer than {performance.min_labels} {rows} in the {window} window"
            decisions.append(Decision(model, "insufficient_data", [reason], evidence, at=now,
                                      signal=signal))  # fmt: skip
            continue
        if state.level == "ok":
            decisions.append(Decision(model, "ok", ["quality within thresholds"], evidence,
                                      at=now, signal=signal))  # fmt: skip
            continue
        fraction, since = sustained(timeline, now, step, performance, estimated)
        evidence[signal].update(critical_fraction=round(fraction, 3),
                                since=since.isoformat() if since else None)  # fmt: skip
        acts = not estimated or performance.estimated == "trigger"
        need = performance.sustain_fraction
        if state.level != "critical" or fraction < need or since is None or not acts:
            if state.level == "critical" and acts:
                described.append(f"critical for {fraction:.0%} of "
                                 f"{format_duration(performance.sustain)}; a trigger needs "
                                 f"{need:.0%}")  # fmt: skip
            decisions.append(Decision(model, "warn", described, evidence, at=now, signal=signal))
            continue
        episode = trigger_id(model, since)
        reasons = [
            *[d for d, b in zip(described, state.breaches, strict=True) if b.level == "critical"],
            (
                f"sustained: critical for {fraction:.0%} of {format_duration(performance.sustain)}"
                f" since {since.isoformat()}"
            ),
        ]
        open_ended = since == timeline[0].at
        continuing_from = now - timedelta(days=7) if open_ended else since
        suppressed = suppression(model, now, episode, history, settings, since=continuing_from)
        verdict: Verdict = "trigger" if suppressed is None else "suppressed"
        reasons += [suppressed] if suppressed else []
        decisions.append(Decision(model, verdict, reasons, evidence, episode, now, signal))
    return decisions


def _drift(
    model: str, now: datetime, timeline: list[Snapshot], history: History,
    policy: DriftPolicy, settings: DriftSettings, step: timedelta,
) -> Decision:  # fmt: skip
    """The feature-drift verdict (the policy's original signal)."""
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
        return Decision(
            model, "insufficient_data", [reason], evidence, at=now, signal="feature_drift"
        )

    states = [(s.at, classify(s, model, policy, settings).state) for s in timeline]
    fraction, since, critical_points = _sustain(states, now, settings, step)
    evidence = _evidence(classified, fraction, since, settings)
    if classified.state == "ok" and critical_points == 0:
        reasons = ["no feature above its warn threshold"]
        return Decision(model, "ok", reasons, evidence, at=now, signal="feature_drift")
    if classified.state != "critical" or fraction < settings.sustain_fraction or since is None:
        return _not_sustained(model, now, classified, fraction, evidence, settings)
    reasons = [f"critical: {', '.join(s.feature for s in classified.critical)}"]
    return _act(model, now, since, fraction, timeline, history, settings, reasons, evidence,
                "feature_drift")  # fmt: skip


def _sustain(
    states: list[tuple[datetime, State]], now: datetime, settings: DriftSettings, step: timedelta
) -> tuple[float, datetime | None, int]:
    """(share of the sustain period spent critical, when the episode began, critical points)."""
    expected = max(int(settings.sustain / step), 1)
    window_start = now - settings.sustain
    critical_points = sum(1 for at, state in states if at > window_start and state == "critical")
    since = episode_start(states, settings.sustain * (1 - settings.sustain_fraction))
    return min(critical_points / expected, 1.0), since, critical_points


def _act(
    model: str, now: datetime, since: datetime, fraction: float, timeline: list[Snapshot],
    history: History, settings: DriftSettings, reasons: list[str], evidence: dict[str, Any],
    signal: str,
) -> Decision:  # fmt: skip
    """A sustained critical episode: trigger, unless something suppresses it."""
    open_ended = since == timeline[0].at
    episode = trigger_id(model, since)
    sustain = format_duration(settings.sustain)
    reasons = [
        *reasons,
        f"sustained: critical for {fraction:.0%} of {sustain} since {since.isoformat()}",
    ]
    continuing_from = now - timedelta(days=7) if open_ended else since
    suppressed = suppression(model, now, episode, history, settings, since=continuing_from)
    if suppressed is not None:
        return Decision(model, "suppressed", [*reasons, suppressed], evidence, episode, now, signal)
    return Decision(model, "trigger", reasons, evidence, episode, now, signal)


SHARE_SHIFT = "prediction_share_shift"  # driftloop:prediction_share_shift:<w>


def _share_level(snapshot: Snapshot, settings: DriftSettings) -> State:
    share = settings.prediction_share
    signal = snapshot.quality.get(SHARE_SHIFT)
    if share is None or signal is None or signal.rows < settings.min_samples:
        return "insufficient_data"
    if signal.value >= share.critical:
        return "critical"
    return "warn" if signal.value >= share.warn else "ok"


def _prediction_share(
    model: str, now: datetime, timeline: list[Snapshot], history: History,
    settings: DriftSettings, step: timedelta,
) -> list[Decision]:  # fmt: skip
    """Classifiers: the largest change of a predicted class's share (seed 001's "sentiment
    distribution shift > 25%"), judged with feature drift's sustain and suppression."""
    share = settings.prediction_share
    current = timeline[-1] if timeline and timeline[-1].at == now else None
    signal = current.quality.get(SHARE_SHIFT) if current else None
    if share is None or current is None or signal is None:
        return []
    level = _share_level(current, settings)
    if level == "insufficient_data":
        return []
    states = [(s.at, _share_level(s, settings)) for s in timeline]
    fraction, since, _ = _sustain(states, now, settings, step)
    window = settings.performance.window if settings.performance else settings.window
    evidence = {
        "prediction_share": {
            "window": format_duration(window), "shift": round(signal.value, 4),
            "rows": int(signal.rows), "warn": share.warn, "critical": share.critical,
            "critical_fraction": round(fraction, 3), "since": since.isoformat() if since else None,
        }
    }  # fmt: skip
    described = (
        f"a predicted class's share moved {signal.value:.1%} from the reference "
        f"(warn {share.warn:.0%}, critical {share.critical:.0%})"
    )
    if level == "ok":
        return [Decision(model, "ok", [described], evidence, at=now, signal="prediction_share")]
    if level != "critical" or fraction < settings.sustain_fraction or since is None:
        reasons = [described, _too_short(fraction, settings)]
        return [Decision(model, "warn", reasons, evidence, at=now, signal="prediction_share")]
    return [_act(model, now, since, fraction, timeline, history, settings, [described], evidence,
                 "prediction_share")]  # fmt: skip
