"""Helpers the command modules share: loading the feature spec, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from driftloop.adapters.registry import ModelRegistry
from driftloop.config import load_model
from driftloop.drift import Profile, build_profile
from driftloop.drift.columns import infer_types

__all__ = ["emit", "emit_json", "profile_for", "registry_from_environment"]


def emit(text: str) -> None:
    sys.stdout.write(text + "\n")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, allow_nan=False, default=str) + "\n")


def profile_for(
    reference: pd.DataFrame,
    model: str | None,
    models_dir: Path,
    bins: int | None = None,
    top_k: int | None = None,
) -> Profile:
    """A profile of ``reference``: with the model's feature types and binning when a model
    is named, otherwise with types inferred from the columns."""
    if model is not None:
        spec = load_model(model, models_dir)
        return build_profile(
            reference,
            spec.feature_types,
            bins=bins or spec.profile.bins,
            top_k=top_k or spec.profile.top_k,
            model=spec.name,
        )
    return build_profile(reference, infer_types(reference), bins=bins or 10, top_k=top_k or 20)


def registry_from_environment() -> ModelRegistry:
    """The MLflow registry named by MLFLOW_TRACKING_URI (SQLite under .driftloop/ if unset)."""
    from driftloop.adapters.mlflow import MlflowRegistry

    return MlflowRegistry.from_environment()
