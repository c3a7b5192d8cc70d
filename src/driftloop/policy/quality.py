"""Quality as a trigger: realised metrics from labelled feedback, and the label-free estimate.

A realised breach needs ``min_labels`` labelled rows in the window and lasts for the
performance block's own ``sustain`` (often shorter than the features'); a label glitch (one
bad batch) breaches only while it sits in the window, which a sustain longer than the window
outlasts. The estimate (binary classifiers) warns; it triggers only if the policy says so.
Either way the dispatch goes through the same suppression as drift: dedup, open PR, running
retrain, cooldown, weekly cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from driftloop.config.drift_policy import PerformanceSettings, RelativeBound
from driftloop.policy.episode import episode_start
from driftloop.policy.signals import QualitySignal, Snapshot

__all__ = ["Breach", "QualityState", "judge", "sustained"]

Level = Literal["critical", "warn", "ok", "insufficient_data"]


@dataclass(frozen=True)
class Breach:
    signal: QualitySignal
    level: Literal["critical", "warn"]
    threshold: float
    training: float | None = None  # the training-time value a relative level is below

    def describe(self, window: str) -> str:
        metric = self.signal.metric.removeprefix("estimated_")
        source = "realised" if metric == self.signal.metric else "estimated"
        worse = ">" if metric in ("mae", "rmse") else "<"
        rows = "scored rows" if source == "estimated" else "labels"
        level = f"{self.threshold:g}" if self.training is None else (
            f"{self.threshold:.3f} (training {self.training:.3f} - "
            f"{self.training - self.threshold:.2g})"
        )  # fmt: skip
        return (
            f"{source} {metric} {self.signal.value:.3f} {worse} {self.level} {level} "
            f"({window}, {int(self.signal.rows)} {rows})"
        )

    def to_dict(self) -> dict[str, Any]:
        data = {
            "metric": self.signal.metric,
            "value": round(self.signal.value, 4),
            "level": self.level,
            "threshold": round(self.threshold, 4),
            "rows": int(self.signal.rows),
            "version": self.signal.version,
        }
        return data | ({"training": round(self.training, 4)} if self.training is not None else {})


@dataclass(frozen=True)
class QualityState:
    level: Level
    breaches: list[Breach]


def judge(snapshot: Snapshot, performance: PerformanceSettings, estimated: bool) -> QualityState:
    """The model's quality at one point: realised metrics, or with ``estimated`` the
    label-free estimates of the same metrics (where the rules record one)."""
    breaches: list[Breach] = []
    judged = False
    for metric, bound in performance.thresholds.items():
        signal = snapshot.quality.get(f"estimated_{metric}" if estimated else metric)
        if signal is None or signal.rows < performance.min_labels:
            continue
        training = None
        if isinstance(bound, RelativeBound):
            # the training-time value of the version judged (its server exports it)
            reference = snapshot.quality.get(f"reference_{metric}")
            if reference is None or reference.version != signal.version:
                continue
            training = reference.value
            levels = (training - bound.max_drop.critical, training - bound.max_drop.warn)
        else:
            levels = (bound.critical, bound.warn)
        judged = True
        if performance.worse(metric, signal.value, levels[0]):
            breaches.append(Breach(signal, "critical", levels[0], training))
        elif performance.worse(metric, signal.value, levels[1]):
            breaches.append(Breach(signal, "warn", levels[1], training))
    level: Level = (
        "critical"
        if any(b.level == "critical" for b in breaches)
        else "warn"
        if breaches
        else "ok"
        if judged
        else "insufficient_data"
    )
    return QualityState(level, breaches)


def sustained(
    timeline: list[Snapshot], now: datetime, step: timedelta, performance: PerformanceSettings,
    estimated: bool,
) -> tuple[float, datetime | None]:  # fmt: skip
    """Share of the performance sustain period spent critical, and when the latest critical
    run began (gaps shorter than the tolerated share bridged)."""
    states = [(s.at, judge(s, performance, estimated).level) for s in timeline]
    expected = max(int(performance.sustain / step), 1)
    start = now - performance.sustain
    critical = sum(1 for at, level in states if level == "critical" and (at > start or at == now))
    tolerance = performance.sustain * (1 - performance.sustain_fraction)
    since = episode_start([(at, "critical" if lv == "critical" else "ok") for at, lv in states],
                          tolerance)  # fmt: skip
    return min(critical / expected, 1.0), since
