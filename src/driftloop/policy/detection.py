"""Fast detection: the check state ``detected`` (a state, never a dispatch).

On the policy's detection window (5m), judged without sustain: a feature is detected when its
PSI is at or above its critical level and above the noise bound, the chi-squared (1 - alpha)
quantile over the effective rows n*m/(n+m); realised or estimated quality when it is
critical on at least ``min_labels`` rows. The quantile is Wilson-Hilferty's approximation, as
the alert FeatureDriftDetected computes it in PromQL (driftloop.generate.detection), so the
check and the alert agree.

Both hold it for ``hold`` (5m): the alert through ``for:``, the check by requiring the
condition at a point and one hold earlier; and both keep it for ``keep`` (10m) after it last
held (``keep_firing_for``), since at a few dozen rows a real shift's PSI dips below the bound
now and then. On a few dozen rows PSI is not chi-squared: a small
reference bin left empty by chance adds share * ln(share / 1e-4) (0.31 for a 5% bin), so ~3%
of 5m windows of pure noise pass the bound at 83 rows with two 5% bins. So a feature is
judged only when every bin expects ``MIN_EXPECTED`` rows, and two disjoint windows both
passing by chance is about the square of the rest (tests/unit/test_detection.py).
"""

from __future__ import annotations

import math
from datetime import datetime
from statistics import NormalDist
from typing import Any

from driftloop.config import DriftPolicy, DriftSettings, format_duration
from driftloop.config.drift_policy import Detection
from driftloop.policy.decision import Decision
from driftloop.policy.quality import judge
from driftloop.policy.signals import Snapshot

__all__ = ["MIN_EXPECTED", "detect", "effective_rows", "noise_bound", "wilson_hilferty"]

# Rows every bin must expect (its reference share x the window's rows) for the chi-squared
# bound to hold (Cochran's rule); fewer, and the feature is judged on the decision window only.
MIN_EXPECTED = 5


def wilson_hilferty(dof: int, alpha: float) -> float:
    """The chi-squared (1 - alpha) quantile with ``dof`` degrees of freedom, approximately
    (within 3.1% at dof 1, closer above; never below the exact value at alpha 0.001)."""
    z = NormalDist().inv_cdf(1 - alpha)
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def effective_rows(rows: float, reference_rows: float | None) -> float:
    """n*m/(n+m) for m window rows against n reference rows (m when n is unknown): what
    PSI's no-drift chi-squared scales with."""
    return rows if not reference_rows else reference_rows * rows / (reference_rows + rows)


def noise_bound(bins: int, rows: float, reference_rows: float | None, alpha: float) -> float:
    """The PSI that sampling noise alone exceeds with probability about alpha."""
    return wilson_hilferty(bins - 1, alpha) / effective_rows(rows, reference_rows)


def _features(
    model: str, fast: Snapshot, policy: DriftPolicy, detection: Detection, window: str
) -> dict[str, tuple[dict[str, Any], str]]:
    found = {}
    for name, signal in sorted(fast.features.items()):
        thresholds = policy.thresholds_for(model, name)
        if thresholds is None or thresholds.psi is None or not signal.bins or signal.bins < 2:
            continue
        if signal.samples < detection.min_samples or signal.psi < thresholds.psi.critical:
            continue
        if signal.min_share is None or signal.min_share * signal.samples < MIN_EXPECTED:
            continue  # the chi-squared bound needs every bin to expect a few rows
        bound = noise_bound(signal.bins, signal.samples, signal.reference_rows, detection.alpha)
        if signal.psi > bound:
            found[name] = (
                {"feature": name, "psi": round(signal.psi, 4), "noise_bound": round(bound, 4),
                 "samples": int(signal.samples)},
                (f"{name} PSI {signal.psi:.3f} over {window} >= critical "
                 f"{thresholds.psi.critical:g} and > noise bound {bound:.3f} "
                 f"({int(signal.samples)} rows)"),
            )  # fmt: skip
    return found


def _quality(
    fast: Snapshot, settings: DriftSettings, window: str
) -> tuple[str, list[dict[str, Any]], list[str]] | None:
    performance = settings.performance
    if performance is None:
        return None
    for estimated in [False] if performance.estimated == "off" else [False, True]:
        state = judge(fast, performance, estimated)
        if state.level == "critical":
            breaches = [b for b in state.breaches if b.level == "critical"]
            signal = "estimated_performance" if estimated else "realised_performance"
            return signal, [b.to_dict() for b in breaches], [b.describe(window) for b in breaches]
    return None


def _held(
    model: str, at: datetime, fast: dict[datetime, Snapshot], policy: DriftPolicy,
    settings: DriftSettings, detection: Detection, window: str,
) -> tuple[str, list[dict[str, Any]], list[str]] | None:  # fmt: skip
    """What the fast window shows at ``at`` and at the latest point at least one hold
    earlier (whatever the check's step), if anything."""
    earlier = [t for t in fast if t <= at - detection.hold] if detection.hold else []
    if detection.hold and not earlier:
        return None
    times = [max(earlier), at] if earlier else [at]
    features = [_features(model, fast[t], policy, detection, window) for t in times]
    lasting = [name for name in features[-1] if all(name in f for f in features)]
    if lasting:
        return (
            "feature_drift",
            [features[-1][name][0] for name in lasting],
            [features[-1][name][1] for name in lasting],
        )
    quality = [_quality(fast[t], settings, window) for t in times]
    if any(q is None for q in quality) or len({q[0] for q in quality if q}) > 1:
        return None
    return quality[-1]


def detect(
    model: str, now: datetime, timeline: list[Snapshot], policy: DriftPolicy,
    settings: DriftSettings,
) -> Decision | None:  # fmt: skip
    """``detected`` when the fast window showed critical drift or quality, held for
    ``hold``, at some point in the last ``keep``; else None."""
    detection = settings.detection
    if detection is None:
        return None
    fast = {s.at: s.fast for s in timeline if s.fast is not None}
    window = format_duration(detection.window)
    for at in sorted((t for t in fast if now - detection.keep <= t <= now), reverse=True):
        held = _held(model, at, fast, policy, settings, detection, window)
        if held is None:
            continue
        signal, found, reasons = held
        evidence = {
            "detected": {
                "window": window, "hold": format_duration(detection.hold), "at": at.isoformat(),
                "signal": signal, "found": found,
            }
        }  # fmt: skip
        since = "" if at == now else f" (as of {at.isoformat()})"
        reasons = [f"detected, not decided: {reasons[0]}{since}", *reasons[1:]]
        return Decision(model, "detected", reasons, evidence, at=now, signal=signal)
    return None
