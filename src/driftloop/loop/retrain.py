"""Retraining a model from its spec: fit, bundle, log and register as a candidate."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from driftloop.adapters.registry import CandidateRun, ModelRegistry
from driftloop.card import new_card
from driftloop.config import ModelSpec, load_model
from driftloop.errors import UsageError
from driftloop.loop.card import store_card
from driftloop.loop.provenance import git_commit, workflow_run_url
from driftloop.train.bundle import ModelBundle, save_bundle
from driftloop.train.data import load_training_data, prepare_features
from driftloop.train.fit import fit_model
from driftloop.train.search import SearchResult, join_study, search, with_params

__all__ = ["ALIAS_NAME", "LOOP_ALIASES", "check_alias", "retrain"]

# Aliases the loop moves itself: the gate moves challenger, promote moves champion after a
# reviewed merge. A retrain that set them would skip the gate and the human.
LOOP_ALIASES = ("champion", "challenger")
ALIAS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # what MLflow accepts as an alias


def check_alias(alias: str) -> str:
    """The alias a retrain registers its version under, refused before anything is fitted
    or registered when the loop owns it or MLflow would reject it."""
    if alias.lower() in LOOP_ALIASES:
        raise UsageError(
            f"--alias {alias}: the loop owns {alias} (the gate moves challenger, promote moves "
            "champion after a reviewed merge); register as candidate or another name"
        )
    if not ALIAS_NAME.match(alias) or alias.lower() == "latest" or re.match(r"^[vV]\d+$", alias):
        raise UsageError(
            f"--alias {alias!r}: an MLflow alias is 1-255 letters, digits, '_' or '-', and "
            "not 'latest' or v<number>"
        )
    return alias


def _drift_report(spec: ModelSpec, frame: pd.DataFrame, path: Path) -> None:
    """Evidently's report: the reference data (model.yaml data.reference, else data.train)
    against the data this candidate is trained on."""
    from driftloop.data.frames import read_frame
    from driftloop.drift.report import write_html_report

    reference = read_frame(spec.data.reference or spec.data.train)  # a template has a reference
    path.parent.mkdir(parents=True, exist_ok=True)
    write_html_report(reference, frame, spec.feature_types, path)


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


def _search_params(result: SearchResult) -> dict[str, str]:
    return {
        "search.metric": result.metric,
        "search.best_value": f"{result.best_value:.6g}",
        "search.baseline_value": f"{result.baseline_value:.6g}"
        if result.baseline_value is not None
        else "",
        "search.trials": str(len(result.trials)),
        "search.workers": str(result.workers),
    }


def _search_summary(result: SearchResult) -> dict[str, Any]:
    states = [t["state"] for t in result.trials]
    return {
        "metric": result.metric, "best_params": result.best_params,
        "best_value": result.best_value, "baseline_value": result.baseline_value,
        "trials": len(states), "complete": states.count("COMPLETE"),
        "workers": result.workers, "seconds": round(result.seconds, 1),
    }  # fmt: skip


def search_worker(
    model: str, models_dir: Path, storage: str, study_name: str, data_uri: str | None = None,
    until: datetime | None = None,
) -> int:  # fmt: skip
    """Run trials of ``model``'s shared study (one of the pods a search fans out to) on the
    same training data retrain reads; returns the study's complete trials."""
    spec = load_model(model, models_dir)
    if spec.estimator is None or spec.estimator.search is None:
        raise UsageError(f"--search-worker: {spec.name} has no estimator.search in model.yaml")
    data = load_training_data(spec, data_uri, until)
    return join_study(spec, data.frame, models_dir / model, storage, study_name)


def retrain(
    model: str,
    models_dir: Path,
    registry: ModelRegistry,
    data_uri: str | None = None,
    reason: str = "manual",
    trigger_id: str = "",
    alias: str = "candidate",
    until: datetime | None = None,
    drift_report: Path | None = None,
    evidence: dict[str, Any] | None = None,
    workers: int = 1,
    study_storage: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Fit ``model`` on its data (its window up to ``until`` when model.yaml sets one), log
    and register it with its model card; ``drift_report``: an HTML report of model.yaml's
    reference data against the training data, for the reviewer; ``evidence``: what
    triggered it (the card records it). With ``estimator.search`` in model.yaml an Optuna
    study over ``workers`` processes (sharing ``study_storage``, an RDB URL, when given)
    picks the parameters first; its trials are logged as child runs."""
    check_alias(alias)
    spec = load_model(model, models_dir)
    data = load_training_data(spec, data_uri, until)
    uri, frame = data.uri, data.frame
    searched = None
    if spec.estimator is not None and spec.estimator.search is not None:
        searched = search(spec, frame, models_dir / model, workers, study_storage,
                          progress=progress)  # fmt: skip
        spec = with_params(spec, searched.best_params)
    fitted = fit_model(spec, frame, models_dir / model)
    window = (
        {
            "start": data.start.isoformat(timespec="seconds"),
            "end": data.end.isoformat(timespec="seconds"),
        }
        if data.start and data.end
        else None
    )
    if drift_report is not None:
        _drift_report(spec, frame, drift_report)
    tags = {
        "driftloop.reason": reason,
        "driftloop.trigger_id": trigger_id,
        "driftloop.data_uri": uri,
        "driftloop.data_digest": fitted.data_digest,
        "driftloop.data_rows": str(len(frame)),
        **({"driftloop.data_window": f"{window['start']}/{window['end']}"} if window else {}),
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
            **(_search_params(searched) if searched else {}),
        }
        run = CandidateRun(
            spec.name, bundle_dir, params, fitted.metrics, fitted.profile.to_dict(), tags,
            tuple(searched.trials) if searched else (), searched.metric if searched else "",
        )  # fmt: skip
        version = registry.register_candidate(run, alias)
    result = {
        "model": spec.name,
        "version": version.version,
        "run_id": version.run_id,
        "model_uri": version.model_uri,
        "metrics": fitted.metrics,
        "data_digest": fitted.data_digest,
        "data_uri": uri,
        "data_window": window,
        "data_rows": len(frame),
        "data_sources": len(data.sources),
        "drift_report": str(drift_report) if drift_report is not None else None,
        "reason": reason,
        "trigger_id": trigger_id,
        "n_train": fitted.n_train,
        "n_eval": fitted.n_eval,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "search": _search_summary(searched) if searched else None,
    }
    facts = {**result, **{key.split(".")[1]: value for key, value in provenance.items()}}
    card = new_card(spec, facts, fitted.profile.to_dict(), spec.estimator.params
                    if spec.estimator else {}, evidence)  # fmt: skip
    store_card(registry, spec.name, version.version, card)
    return result
