"""What no single file can check: the policies name models and features that exist, and ask
each model only for metrics its task has."""

from __future__ import annotations

from collections.abc import Mapping

from driftloop.config.drift_policy import RECORDED_FOR, DriftPolicy
from driftloop.config.gate_policy import METRICS_FOR_TASK, GatePolicy
from driftloop.config.model import ModelSpec
from driftloop.errors import ConfigError

__all__ = ["fleet_problems"]


def fleet_problems(
    models: Mapping[str, ModelSpec],
    drift: DriftPolicy,
    gates: GatePolicy,
    drift_source: str = "policies/drift.yaml",
    gates_source: str = "policies/gates.yaml",
) -> list[ConfigError]:
    """Every cross-file problem, each naming its key (an empty list: consistent)."""
    there = ", ".join(models) or "none"
    problems = [
        ConfigError(source, f"models.{name}", f"no such model ({there})")
        for source, named in ((drift_source, drift.models), (gates_source, gates.models))
        for name in named
        if name not in models
    ]
    problems += [
        ConfigError(
            drift_source, f"models.{name}.features.{feature}",
            f"{name} has no feature {feature!r} ({', '.join(models[name].feature_names)})",
        )
        for name, override in drift.models.items()
        if name in models
        for feature in override.features
        if feature not in models[name].feature_names
    ]  # fmt: skip
    for name, spec in models.items():
        problems += _metrics_problems(name, spec, drift, gates, drift_source, gates_source)
    return problems


def _metrics_problems(
    name: str, spec: ModelSpec, drift: DriftPolicy, gates: GatePolicy,
    drift_source: str, gates_source: str,
) -> list[ConfigError]:  # fmt: skip
    problems = []
    computed = METRICS_FOR_TASK[spec.task]
    override = gates.models.get(name)
    primary = gates.settings_for(name).primary_metric
    if primary != "auto" and primary not in computed:
        key = (
            f"models.{name}.primary_metric"
            if override is not None and override.primary_metric is not None
            else "defaults.primary_metric"
        )
        problems.append(ConfigError(
            gates_source, key,
            f"{name} is a {spec.task} model: its primary metric is one of {', '.join(computed)}",
        ))  # fmt: skip
    performance = drift.settings_for(name).performance
    if performance is not None:
        recorded = RECORDED_FOR.get(spec.task, ())
        where = "models" if name in drift.models and drift.models[name].performance else None
        for metric in performance.thresholds:
            if metric not in recorded:
                key = f"{where}.{name}" if where else "defaults"
                problems.append(ConfigError(
                    drift_source, f"{key}.performance.thresholds.{metric}",
                    f"{name} is a {spec.task} model, for which feedback records "
                    f"{', '.join(recorded) or 'nothing'}",
                ))  # fmt: skip
    return problems
