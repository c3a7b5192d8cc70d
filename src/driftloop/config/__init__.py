"""Configuration contracts: pydantic models for model.yaml, drift.yaml and gates.yaml."""

from driftloop.config.base import API_VERSION, format_duration, parse_duration
from driftloop.config.drift_policy import DriftPolicy, DriftSettings, Threshold, load_drift_policy
from driftloop.config.gate_policy import (
    ApprovalSettings,
    GatePolicy,
    GateSettings,
    load_gate_policy,
)
from driftloop.config.model import FeatureSpec, ModelSpec, load_model

__all__ = [
    "API_VERSION",
    "ApprovalSettings",
    "DriftPolicy",
    "DriftSettings",
    "FeatureSpec",
    "GatePolicy",
    "GateSettings",
    "ModelSpec",
    "Threshold",
    "format_duration",
    "load_drift_policy",
    "load_gate_policy",
    "load_model",
    "parse_duration",
]
