"""A model bundle: an MLflow sklearn model directory plus driftloop's files beside it.

Layout (what ``driftloop retrain`` logs, and what ``driftloop serve`` loads)::

    MLmodel, model.pkl, ...   MLflow's sklearn flavour (signature, input example, requirements)
    profile.json              reference profile of the training data, with the prediction bins
    driftloop.json            model name, version, task, features, metrics

Loading reads the pickled pipeline named by MLmodel directly, so serving does not import
MLflow. driftloop saves with skops, which loads without running arbitrary code; MLflow's
cloudpickle format loads too, but only load such bundles from your own registry.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.pipeline import Pipeline

from driftloop.config import ModelSpec
from driftloop.config.base import parse_document
from driftloop.drift import Profile
from driftloop.drift.text import Tokens
from driftloop.errors import ConfigError, DataError
from driftloop.train.fastpath import FastPath, compile_fast_path
from driftloop.train.fit import model_outputs, outputs_of_probabilities
from driftloop.train.textpath import TextPath, compile_text_path

__all__ = ["BUNDLE_FILE", "ModelBundle", "load_bundle", "save_bundle"]

BUNDLE_FILE = "driftloop.json"
PROFILE_FILE = "profile.json"


@dataclass(frozen=True)
class ModelBundle:
    spec: ModelSpec
    pipeline: Pipeline
    profile: Profile
    version: str
    metrics: dict[str, float]
    fast_path: FastPath | TextPath | None = field(default=None, compare=False, repr=False)
    # scored on the golden set when served with --golden (serve/golden.py); empty otherwise
    golden: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def outputs(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, telemetry values) for prepared features."""
        return model_outputs(self.pipeline, features, self.spec)

    def outputs_of_columns(
        self, columns: dict[str, np.ndarray], tokens: Tokens | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The same for prepared columns, through the fast path when the pipeline has one
        (``tokens``: its text columns already tokenised, for the text path)."""
        if self.fast_path is None:
            return self.outputs(pd.DataFrame(columns, columns=self.spec.feature_names))
        if isinstance(self.fast_path, TextPath):
            probabilities = self.fast_path.probabilities(columns, tokens)
            return outputs_of_probabilities(probabilities, self.fast_path.model.classes_, self.spec)
        return model_outputs(self.fast_path.model, self.fast_path.matrix(columns), self.spec)


def _signature_and_example(bundle: ModelBundle, example: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    from mlflow.models import infer_signature

    predictions, _ = bundle.outputs(example)
    return infer_signature(example, predictions), example


def save_bundle(
    path: Path, bundle: ModelBundle, example: pd.DataFrame, requirements: list[str]
) -> None:
    """Write the bundle to a new directory ``path``."""
    import mlflow.sklearn
    import skops.io

    signature, input_example = _signature_and_example(bundle, example)
    # skops, not pickle: loading cannot run arbitrary code. The types skops does not trust
    # by default are those of the pipeline this process just built; MLmodel records them.
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(bundle.pipeline))
    mlflow.sklearn.save_model(
        bundle.pipeline,
        str(path),
        serialization_format="skops",
        skops_trusted_types=trusted,
        signature=signature,
        input_example=input_example,
        pip_requirements=requirements,
    )
    bundle.profile.save(path / PROFILE_FILE)
    meta = {
        "name": bundle.name,
        "version": bundle.version,
        "metrics": bundle.metrics,
        "spec": bundle.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    (path / BUNDLE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _load_pipeline(model_file: Path, flavor: dict[str, Any]) -> Pipeline:
    if flavor.get("serialization_format") == "skops":
        import skops.io

        trusted = [str(t) for t in flavor.get("skops_trusted_types") or []]
        pipeline: Pipeline = skops.io.load(model_file, trusted=trusted)
        return pipeline
    with model_file.open("rb") as handle:
        # MLflow's cloudpickle format: only for bundles from the project's own registry.
        loaded: Pipeline = pickle.load(handle)  # noqa: S301
        return loaded


def load_bundle(path: Path, version: str | None = None) -> ModelBundle:
    """Load a bundle directory; ``version`` overrides the recorded one (registry versions)."""
    meta_path = path / BUNDLE_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        mlmodel = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
        flavor = mlmodel["flavors"]["sklearn"]
        model_file = path / flavor["pickled_model"]
    except FileNotFoundError as error:
        raise DataError(
            f"{path}: not a driftloop model bundle ({Path(str(error.filename)).name} missing)"
        ) from None
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        raise DataError(f"{path}: invalid model bundle: {error}") from None
    spec = parse_document(ModelSpec, meta.get("spec"), str(meta_path))
    pipeline = _load_pipeline(model_file, flavor)
    profile = Profile.load(path / PROFILE_FILE)
    if profile.prediction is None:
        raise ConfigError(
            str(path / PROFILE_FILE), "prediction", "the profile has no prediction bins"
        )
    return ModelBundle(
        spec=spec,
        pipeline=pipeline,
        profile=profile,
        version=str(version or meta.get("version", "0")),
        metrics={str(k): float(v) for k, v in meta.get("metrics", {}).items()},
        fast_path=compile_fast_path(pipeline, spec) or compile_text_path(pipeline, spec),
    )
