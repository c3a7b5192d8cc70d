"""The drift policy's blocks for signals beside the decision: fast detection, value range,
fairness, and the noise-aware PSI switch."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from driftloop.config.base import Duration, Strict

__all__ = ["Detection", "Fairness", "OutOfRange", "SampleSizeAware"]


class SampleSizeAware(Strict):
    """Scale PSI by n*m/(n+m) and compare it with a chi-squared quantile (noise-aware)."""

    enabled: bool = False
    alpha: float = Field(default=0.01, gt=0, lt=1)


class Detection(Strict):
    """Fast detection: a short window judged without sustain, noise-aware, so a lasting shift
    shows within minutes (alert FeatureDriftDetected, check state ``detected``) while the
    trigger keeps its sustain. A state, never a dispatch."""

    window: Duration = Field(default=timedelta(minutes=5), description="A recorded window.")
    alpha: float = Field(
        default=0.001, gt=0, lt=1,
        description="PSI x effective rows must exceed the chi-squared (1 - alpha) quantile.",
    )  # fmt: skip
    min_samples: int = Field(default=50, ge=1, description="Rows in the window to judge at all.")
    hold: Duration = Field(
        default=timedelta(minutes=5), description="How long the alert's condition must hold."
    )
    keep: Duration = Field(
        default=timedelta(minutes=10),
        description="Still detected this long after the condition last held (the alert's "
        "keep_firing_for): at a few dozen rows a real shift dips below the noise bound now "
        "and then.",
    )


class OutOfRange(Strict):
    """Values beyond |z| > 4 of the reference (seed 002's value-range KPI): a broken upstream
    unit (cents for dollars) shows within minutes. A warning, never a trigger. Judged as the
    share above the reference's own (taxi's lognormal trip_distance has 0.95% beyond |z| > 4)."""

    max_share: float = Field(
        default=0.01, gt=0, le=1, description="Share of rows allowed above the reference's."
    )
    min_rows: int = Field(
        default=5, ge=1, description="Out-of-range rows needed at all (a few outliers are not it)."
    )


class Fairness(Strict):
    """Demographic parity as a live KPI (seed 002: "Demographic Parity: Δ fairness -3 pp"):
    the gap in positive-prediction rate between groups of a binary model's sensitive
    attribute, against its training-time gap (alert FairnessDrift)."""

    window: Duration = Field(
        default=timedelta(hours=24),
        description="A recorded window; at 1000 rows/h a 1h gap between a 16% group and the "
        "rest varies by ~0.04 from sampling alone, a 24h gap by ~0.008.",
    )
    min_rows: int = Field(default=100, ge=1, description="Rows a group needs in the window.")
    max_increase: float = Field(
        default=0.03, gt=0, le=1, description="Allowed widening over the training-time gap."
    )
    hold: Duration = Field(default=timedelta(hours=1), description="The alert's `for:`.")
