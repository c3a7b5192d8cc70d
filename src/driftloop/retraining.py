"""Retraining a model from its spec: fit, bundle, log and register as a candidate."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from driftloop.adapters.registry import CandidateRun, ModelRegistry
from driftloop.bundle import ModelBundle, save_bundle
from driftloop.config import load_model
from driftloop.provenance import git_commit, workflow_run_url
from driftloop.train.data import load_training_data, prepare_features
from driftloop.train.fit import fit_model

__all__ = ["retrain"]

# What a served bundle needs installed; pinned to what trained it (MLflow's requirements.txt).
RUNTIME_PACKAGES = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


def _requirements() -> list[str]:
    pins = []
    for package in RUNTIME_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pins.append(package)
    return pins


def retrain(
    model: str,
    models_dir: Path,
    registry: ModelRegistry,
    data_uri: str | None = None,
    reason: str = "manual",
    trigger_id: str = "",
    alias: str = "candidate",
) -> dict[str, Any]:
    spec = load_model(model, models_dir)
    uri = data_uri or spec.data.train
    frame = load_training_data(spec, uri)
    fitted = fit_model(spec, frame, models_dir / model)
    tags = {
        "driftloop.reason": reason,
        "driftloop.trigger_id": trigger_id,
        "driftloop.data_uri": uri,
        "driftloop.data_digest": fitted.data_digest,
    }
    provenance = {
        "driftloop.git_commit": git_commit(),
        "driftloop.workflow_run_url": workflow_run_url(),
    }
    tags.update({key: value for key, value in provenance.items() if value})
    with tempfile.TemporaryDirectory(prefix="driftloop-bundle-") as tmp:
        bundle_dir = Path(tmp) / "model"
        bundle = ModelBundle(spec, fitted.pipeline, fitted.profile, "unregistered", fitted.metrics)
        save_bundle(bundle_dir, bundle, prepare_features(frame.head(5), spec), _requirements())
        params = {
            "estimator": spec.estimator.class_ if spec.estimator else f"hook:{spec.train_hook}",
            **{
                f"param.{k}": str(v)
                for k, v in (spec.estimator.params if spec.estimator else {}).items()
            },
            "data_uri": uri,
            "n_train": str(fitted.n_train),
            "n_eval": str(fitted.n_eval),
        }
        run = CandidateRun(
            spec.name, bundle_dir, params, fitted.metrics, fitted.profile.to_dict(), tags
        )
        version = registry.register_candidate(run, alias)
    return {
        "model": spec.name,
        "version": version.version,
        "run_id": version.run_id,
        "model_uri": version.model_uri,
        "metrics": fitted.metrics,
        "data_digest": fitted.data_digest,
        "data_uri": uri,
        "reason": reason,
        "trigger_id": trigger_id,
        "n_train": fitted.n_train,
        "n_eval": fitted.n_eval,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
