"""Model bundles trained on the demo scenarios, for tests that serve a real model."""

from __future__ import annotations

from pathlib import Path

from driftloop.bundle import ModelBundle, save_bundle
from driftloop.config import load_model
from driftloop.demo import scenarios
from driftloop.train.data import prepare_features
from driftloop.train.fit import fit_model

ROOT = Path(__file__).resolve().parents[2]


def train_bundle(model: str, target: Path, rows: int = 8000, version: str = "1") -> Path:
    spec = load_model(model, ROOT / "models")
    data = scenarios.reference(model, rows=rows)
    fitted = fit_model(spec, data)
    bundle = ModelBundle(spec, fitted.pipeline, fitted.profile, version, fitted.metrics)
    save_bundle(target, bundle, prepare_features(data.head(5), spec), ["scikit-learn"])
    return target
