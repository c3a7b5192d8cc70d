"""MLflow as the model registry: runs, registered versions, aliases and tags.

Every MLflow failure becomes an UpstreamError (exit 3). MLflow's HTTP client retries for
minutes by default; unless the environment says otherwise we cap retries and timeouts so an
unreachable server is reported within seconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from driftloop.adapters.registry import CandidateRun, ModelRegistry, RegisteredVersion
from driftloop.errors import UpstreamError, UsageError

__all__ = ["DEFAULT_TRACKING_URI", "MlflowRegistry"]

DEFAULT_TRACKING_URI = "sqlite:///.driftloop/mlflow.db"
# Where driftloop keeps facts about the loop itself (experiment tags), not about a model.
AUDIT_EXPERIMENT = "driftloop-audit"
_ENV_DEFAULTS = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


# Tracking stores MLflow's client can open (its registry of store builders).
_SCHEMES = frozenset(
    {"http", "https", "file", "sqlite", "postgresql", "mysql", "mssql", "databricks",
     "databricks-uc", "uc"}
)  # fmt: skip


@contextmanager
def _upstream(action: str) -> Iterator[None]:
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        message = str(error.message if hasattr(error, "message") else error).splitlines()[0]
        raise UpstreamError("MLflow", f"{action}: {message[:300]}") from None
    except (OSError, ConnectionError) as error:
        raise UpstreamError("MLflow", f"{action}: {error}") from None


class MlflowRegistry(ModelRegistry):
    def __init__(self, tracking_uri: str, artifact_root: Path | None = None) -> None:
        import mlflow
        from mlflow import MlflowClient

        for key, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        if tracking_uri.startswith("sqlite:///") and not tracking_uri.startswith("sqlite:////"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        mlflow.set_tracking_uri(tracking_uri)
        self._mlflow = mlflow
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    @classmethod
    def from_environment(cls) -> MlflowRegistry:
        uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
        scheme = urlsplit(uri).scheme.split("+")[0].lower()  # postgresql+psycopg2: a dialect
        if len(scheme) > 1 and scheme not in _SCHEMES:  # "" or "c" (C:\...): a local path
            raise UsageError(
                f"MLFLOW_TRACKING_URI {uri[:80]!r}: MLflow reads no {scheme}:// store "
                f"({', '.join(sorted(_SCHEMES))}, or a local path)"
            )
        return cls(uri)

    def register_candidate(self, run: CandidateRun, alias: str) -> RegisteredVersion:
        mlflow = self._mlflow
        with _upstream(f"logging the {run.model} candidate"):
            name = f"driftloop-{run.model}"
            if self.artifact_root is not None and mlflow.get_experiment_by_name(name) is None:
                mlflow.create_experiment(
                    name, artifact_location=(self.artifact_root / name).as_uri()
                )
            mlflow.set_experiment(name)
            with mlflow.start_run(run_name=f"retrain-{run.model}", tags=run.tags) as active:
                mlflow.log_params(run.params)
                mlflow.log_metrics(run.metrics)
                mlflow.log_dict(run.profile, "profile.json")
                mlflow.log_artifacts(str(run.bundle_dir), artifact_path="model")
                for trial in run.trials:
                    self._log_trial(trial, run.trial_metric)
            run_id = active.info.run_id
            self._ensure_registered_model(run.model)
            version = self.client.create_model_version(
                run.model, f"runs:/{run_id}/model", run_id=run_id, tags=run.tags
            )
            self.client.set_registered_model_alias(run.model, alias, version.version)
        return RegisteredVersion(
            run.model, str(version.version), run_id, f"models:/{run.model}/{version.version}"
        )

    def _log_trial(self, trial: dict[str, Any], metric: str) -> None:
        """One search trial as a child run of the retrain's run."""
        mlflow = self._mlflow
        tags = {
            "driftloop.trial": str(trial["number"]),
            "driftloop.trial_state": str(trial["state"]),
        }
        with mlflow.start_run(run_name=f"trial-{trial['number']}", nested=True, tags=tags):
            mlflow.log_params({str(k): str(v) for k, v in dict(trial["params"]).items()})
            if isinstance(trial.get("value"), int | float):
                mlflow.log_metric(metric, float(trial["value"]))

    def _ensure_registered_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name)

    def download(self, uri: str) -> tuple[Path, str | None]:
        version = self._version_of(uri)
        target = Path(tempfile.mkdtemp(prefix="driftloop-model-"))
        with _upstream(f"downloading {uri}"):
            path = self._mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target))
        return Path(path), version

    def _version_of(self, uri: str) -> str | None:
        if not uri.startswith("models:/"):
            return None
        ref = uri.removeprefix("models:/")
        with _upstream(f"resolving {uri}"):
            if "@" in ref:
                name, alias = ref.split("@", 1)
                found = self.client.get_model_version_by_alias(name, alias)
            else:
                name, _, version = ref.partition("/")
                found = self.client.get_model_version(name, version)
        if not str(found.version or "").isdigit() or found.name != name:
            # MLflow's client turns any JSON object into an empty version: not an answer
            raise UpstreamError("MLflow", f"resolving {uri}: answered something unexpected")
        return str(found.version)

    def alias_version(self, model: str, alias: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(model, alias).version)
        except MlflowException as error:
            if _not_found(error):
                return None
            raise UpstreamError("MLflow", f"reading alias {alias} of {model}: {error}") from None
        except OSError as error:
            raise UpstreamError("MLflow", f"reading alias {alias} of {model}: {error}") from None

    def set_alias(self, model: str, alias: str, version: str) -> None:
        with _upstream(f"setting alias {alias} of {model} to {version}"):
            self.client.set_registered_model_alias(model, alias, version)

    def set_version_tags(self, model: str, version: str, tags: dict[str, str]) -> None:
        with _upstream(f"tagging {model} version {version}"):
            for key, value in tags.items():
                self.client.set_model_version_tag(model, version, key, value)

    def version_tags(self, model: str, version: str) -> dict[str, str]:
        with _upstream(f"reading {model} version {version}"):
            return dict(self.client.get_model_version(model, version).tags)

    def version_run(self, model: str, version: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_model_version(model, version)
        except MlflowException as error:
            if _not_found(error):
                return None
            raise UpstreamError("MLflow", f"reading {model} version {version}: {error}") from None
        except OSError as error:
            raise UpstreamError("MLflow", f"reading {model} version {version}: {error}") from None
        return str(found.run_id or "")

    def write_version_artifact(self, model: str, version: str, name: str, text: str) -> str:
        run_id = self.version_run(model, version)
        if not run_id:
            raise UpstreamError(
                "MLflow", f"{model} version {version} has no run to store {name} with"
            )
        with _upstream(f"storing {name} with {model} version {version}"):
            self.client.log_text(run_id, text, name)
        return f"runs:/{run_id}/{name}"

    def read_artifact(self, uri: str) -> str | None:
        from mlflow.exceptions import MlflowException

        if not uri.startswith("runs:/"):
            return None
        try:
            return str(self._mlflow.artifacts.load_text(uri))
        except MlflowException as error:
            if _not_found(error):
                return None
            raise UpstreamError("MLflow", f"reading {uri}: {error}") from None
        except FileNotFoundError:
            return None
        except OSError as error:
            raise UpstreamError("MLflow", f"reading {uri}: {error}") from None

    def _audit_experiment(self) -> str:
        mlflow = self._mlflow
        with _upstream("reading the driftloop-audit experiment"):
            found = mlflow.get_experiment_by_name(AUDIT_EXPERIMENT)
            if found is not None:
                return str(found.experiment_id)
            return str(self.client.create_experiment(AUDIT_EXPERIMENT))

    def marker(self, name: str) -> str | None:
        experiment = self._audit_experiment()
        with _upstream(f"reading marker {name}"):
            return self.client.get_experiment(experiment).tags.get(name)

    def set_marker(self, name: str, value: str) -> None:
        experiment = self._audit_experiment()
        with _upstream(f"writing marker {name}"):
            self.client.set_experiment_tag(experiment, name, value)

    def run_url(self, run_id: str) -> str | None:
        if self.tracking_uri.startswith("http"):
            return f"{self.tracking_uri.rstrip('/')}/#/runs/{run_id}"
        return None


def _not_found(error: Any) -> bool:
    code = getattr(error, "error_code", "")
    return (
        code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        or "not found" in str(error).lower()
    )
