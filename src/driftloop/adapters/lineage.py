"""OpenLineage run events for retrain, gate and promote, through the openlineage-python client.

The transport comes from OpenLineage's own environment variables (``OPENLINEAGE_URL`` with
``OPENLINEAGE_API_KEY`` for HTTP to Marquez, ``OPENLINEAGE__TRANSPORT__*`` or
``OPENLINEAGE_CONFIG`` for anything else); with none of them set, lineage is off and nothing
is imported or sent. ``OPENLINEAGE_DISABLED=true`` turns it off too. An event that cannot be
delivered never fails the retrain: it is kept in ``LineageRun.errors`` for the CLI to warn.

Naming follows OpenLineage's dataset naming spec: a URI's scheme and authority are the
namespace and its path the name; a model version is ``models/<name>/<version>`` in the
namespace of its MLflow tracking server (credentials removed).
"""

from __future__ import annotations

import os
import traceback
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "PRODUCER",
    "TRIGGER_FACET_SCHEMA",
    "Dataset",
    "LineageRun",
    "data_dataset",
    "lineage_enabled",
    "lineage_run",
    "model_dataset",
]

PRODUCER = "https://github.com/driftloop/driftloop"
TRIGGER_FACET_SCHEMA = (
    "https://github.com/driftloop/driftloop/blob/main/docs/schemas/DriftloopTriggerRunFacet.json"
    "#/$defs/DriftloopTriggerRunFacet"
)
_SETTINGS = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE__TRANSPORT__TYPE")


def lineage_enabled() -> bool:
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in _SETTINGS)


@dataclass
class Dataset:
    """A dataset as OpenLineage names it, with what driftloop knows of it."""

    namespace: str
    name: str
    schema: list[tuple[str, str]] = field(default_factory=list)  # (column, type)
    version: str | None = None
    kind: str | None = None  # DatasetTypeDatasetFacet: MODEL, FILE, ...


def _namespace_of(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (or a Windows drive letter)
        return "file", str(Path(uri).resolve())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path if host else parts.path.lstrip("/")
    return f"{parts.scheme}://{host}" if host else parts.scheme, path or "/"


def data_dataset(uri: str, schema: Sequence[tuple[str, str]], digest: str | None = None) -> Dataset:
    namespace, name = _namespace_of(uri.split("?", 1)[0])
    return Dataset(namespace, name, list(schema), digest)


def model_dataset(tracking_uri: str, model: str, version: str | None, alias: str = "") -> Dataset:
    """A registered version (or an alias) in the namespace of its tracking server; the
    userinfo of an HTTP tracking URI (user:password@) never reaches an event."""
    parts = urlsplit(tracking_uri)
    if parts.scheme in ("http", "https") and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        namespace = f"mlflow+{parts.scheme}://{parts.hostname}{port}"
    else:
        namespace = "mlflow"
    name = f"models/{model}/" + (f"@{alias}" if alias else str(version))
    return Dataset(namespace, name, version=version, kind="MODEL")


@dataclass
class LineageRun:
    """One run of a driftloop job; set ``outputs`` (and more ``inputs``) before it ends."""

    job: str
    run_id: str
    inputs: list[Dataset] = field(default_factory=list)
    outputs: list[Dataset] = field(default_factory=list)
    trigger: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


def _parent() -> tuple[str, str, str] | None:
    """The workflow run this job runs in (GitHub Actions): a run id stable across its jobs
    and steps (a UUID derived from the run's URL), its namespace and job name."""
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repo, run, workflow = (os.environ.get(k, "") for k in
                           ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_WORKFLOW"))  # fmt: skip
    if not (repo and run):
        return None
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT", "1")
    url = f"{server}/{repo}/actions/runs/{run}/attempts/{attempt}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url)), f"github://{repo}", workflow or "workflow"


def _event(run: LineageRun, state: str, namespace: str, error: BaseException | None) -> Any:
    from openlineage.client import event_v2
    from openlineage.client.facet_v2 import (
        dataset_type_dataset,
        dataset_version_dataset,
        error_message_run,
        job_type_job,
        parent_run,
        schema_dataset,
    )

    def facets(d: Dataset) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if d.schema:
            out["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in d.schema
                ]
            )
        if d.version:
            out["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(d.version)
        if d.kind:
            out["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(d.kind)
        return out

    run_facets: dict[str, Any] = {}
    if parent := _parent():
        run_id, parent_namespace, parent_job = parent
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_id),
            job=parent_run.Job(namespace=parent_namespace, name=parent_job),
        )
    if run.trigger is not None:
        run_facets["driftloop_trigger"] = _TriggerFacet.make(run.trigger)
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"{type(error).__name__}: {error}"[:1000],
            programmingLanguage="python",
            stackTrace="".join(traceback.format_exception(error))[-4000:],
        )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet("BATCH", "DRIFTLOOP", "JOB")
    }
    return event_v2.RunEvent(
        eventType=event_v2.RunState[state],
        eventTime=datetime.now(UTC).isoformat(),
        producer=PRODUCER,
        run=event_v2.Run(runId=run.run_id, facets=run_facets),
        job=event_v2.Job(namespace=namespace, name=run.job, facets=job_facets),
        inputs=[event_v2.InputDataset(d.namespace, d.name, facets=facets(d)) for d in run.inputs],
        outputs=[
            event_v2.OutputDataset(d.namespace, d.name, facets=facets(d)) for d in run.outputs
        ],
    )


class _TriggerFacet:
    """driftloop's own run facet: why the retrain ran (docs/schemas/
    DriftloopTriggerRunFacet.json), a subclass of the client's RunFacet made on first use."""

    _cls: Any = None

    @classmethod
    def make(cls, trigger: dict[str, Any]) -> Any:
        if cls._cls is None:
            import attr
            from openlineage.client.facet_v2 import RunFacet

            @attr.define
            class DriftloopTriggerRunFacet(RunFacet):
                reason: str | None = None
                triggerId: str | None = None  # noqa: N815 - OpenLineage's camelCase
                signal: str | None = None
                evidence: dict[str, Any] | None = None

                @staticmethod
                def _get_schema() -> str:
                    return TRIGGER_FACET_SCHEMA

            cls._cls = DriftloopTriggerRunFacet
        return cls._cls(
            reason=trigger.get("reason"),
            triggerId=trigger.get("trigger_id") or None,
            signal=(trigger.get("evidence") or {}).get("signal"),
            evidence=trigger.get("evidence"),
            producer=PRODUCER,
        )


def _emit(client: Any, run: LineageRun, state: str, namespace: str, error: Any = None) -> None:
    try:
        client.emit(_event(run, state, namespace, error))
    except Exception as failure:  # lineage must never fail the job it describes
        run.errors.append(f"OpenLineage {state} event for {run.job} not sent: {failure}")


@contextmanager
def lineage_run(
    job: str, inputs: list[Dataset] | None = None, trigger: dict[str, Any] | None = None
) -> Iterator[LineageRun]:
    """START on entry, COMPLETE on a normal exit, FAIL when the body raises (the error is
    re-raised). Off (no events, no import) when no OpenLineage transport is configured."""
    run = LineageRun(job, str(uuid.uuid4()), list(inputs or []), trigger=trigger)
    if not lineage_enabled():
        yield run
        return
    from openlineage.client import OpenLineageClient

    client = OpenLineageClient()
    namespace = os.environ.get("OPENLINEAGE_NAMESPACE") or "driftloop"
    _emit(client, run, "START", namespace)
    try:
        yield run
    except BaseException as error:
        _emit(client, run, "FAIL", namespace, error)
        raise
    else:
        _emit(client, run, "COMPLETE", namespace)
    finally:
        try:
            client.close(timeout=10)
        except Exception as failure:  # as above
            run.errors.append(f"OpenLineage transport did not close: {failure}")
