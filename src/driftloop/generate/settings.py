"""What the generated rules are made from (``settings_from_policy`` fills it from the policy)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WINDOWS", "Levels", "PsiOverride", "QualityLevel", "RuleSettings"]

# window -> evaluation interval. At most 5m: an instant query sees a rule's sample only
# within Prometheus's 5m lookback, so a group evaluated every 15m reads as absent 2/3 of the time.
WINDOWS = {"5m": "1m", "1h": "5m", "24h": "5m"}


Levels = tuple[float, float] | None  # (warn, critical) PSI; None: never judged (ignored)


@dataclass(frozen=True)
class PsiOverride:
    """A model whose PSI levels differ from the defaults, or that has features whose do."""

    model: str
    levels: Levels
    features: tuple[tuple[str, Levels], ...] = ()


@dataclass(frozen=True)
class QualityLevel:
    """A critical quality level the policy sets: for one model, or (model None) for every
    model without its own performance block."""

    model: str | None
    metric: str
    critical: float
    min_labels: int
    lower_is_better: bool
    estimated: bool  # the estimate is judged too (the policy's estimated is not off)


@dataclass(frozen=True)
class RuleSettings:
    psi_warn: float = 0.1
    psi_critical: float = 0.25
    min_samples: int = 1000
    drift_for: str = "30m"
    min_feedback: int = 200
    accuracy_drop: float = 0.05
    auc_drop: float = 0.05  # seed 002: AUROC -5 pp vs training (or the policy's max_drop)
    mae_increase: float = 0.25
    error_ratio: float = 0.05
    latency_slo_seconds: float = 0.15
    check_interval_seconds: int = 300  # the drift-check CronJob's schedule (*/5)
    alert_window: str = "1h"
    # window -> evaluation interval; tests shorten them to run against a live Prometheus
    intervals: tuple[tuple[str, str], ...] = tuple(WINDOWS.items())
    # models and features with their own PSI levels in the policy (the alerts honour them)
    psi_overrides: tuple[PsiOverride, ...] = ()
    # fast detection (policies/drift.yaml defaults.detection); None: no detection rules
    detect_window: str | None = None
    detect_z: float = 3.090232306167813  # the normal quantile at 1 - alpha (0.001)
    detect_min_samples: int = 50
    detect_hold: str = "5m"
    detect_keep: str = "10m"
    quality_levels: tuple[QualityLevel, ...] = ()
    long_for: str = "1h"  # FeatureDriftLongWindow's for: (its values move by the hour)
    # value range (|z| > 4): None when the policy's defaults turn it off
    out_of_range_share: float | None = 0.01
    out_of_range_rows: int = 5
    # demographic parity (defaults.fairness): rows per group; the alert's window, None: no alert
    fairness_min_rows: int = 100
    fairness_window: str | None = None
    fairness_max_increase: float = 0.03
    fairness_for: str = "1h"
