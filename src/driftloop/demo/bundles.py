"""Model bundles trained on the synthetic reference data and saved to a folder, for serving a
real model without MLflow (the test suite and the benchmarks)."""

from __future__ import annotations

from pathlib import Path

from driftloop.config import load_model
from driftloop.demo.workspace import project_root
from driftloop.synthetic import scenarios
from driftloop.train.bundle import ModelBundle, save_bundle
from driftloop.train.data import prepare_features
from driftloop.train.fit import fit_model

__all__ = ["train_bundle"]


def train_bundle(
    model: str,
    target: Path,
    rows: int = 8000,
    version: str = "1",
    models_dir: Path | None = None,
) -> Path:
    """Fit ``model`` on ``rows`` reference rows and save its bundle to ``target``."""
    spec = load_model(model, models_dir or project_root() / "models")
    data = scenarios.reference(model, rows=rows)
    fitted = fit_model(spec, data)
    bundle = ModelBundle(spec, fitted.pipeline, fitted.profile, version, fitted.metrics)
    save_bundle(target, bundle, prepare_features(data.head(5), spec), ["scikit-learn"])
    return target
