"""The model registry interface the rest of driftloop sees (MLflow implements it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

__all__ = ["CandidateRun", "ModelRegistry", "RegisteredVersion"]


@dataclass(frozen=True)
class CandidateRun:
    """What a retrain logs: one run with its bundle directory, registered as a new version."""

    model: str
    bundle_dir: Path
    params: dict[str, str]
    metrics: dict[str, float]
    profile: dict[str, object]
    tags: dict[str, str] = field(default_factory=dict)
    # a hyper-parameter search's trials, logged as child runs: number, state, value, params
    trials: tuple[dict[str, object], ...] = ()
    trial_metric: str = ""


@dataclass(frozen=True)
class RegisteredVersion:
    model: str
    version: str
    run_id: str
    model_uri: str


class ModelRegistry(Protocol):
    def register_candidate(self, run: CandidateRun, alias: str) -> RegisteredVersion: ...

    def download(self, uri: str) -> tuple[Path, str | None]:
        """A local bundle directory for ``uri`` and its registry version (None if unknown)."""
        ...

    def alias_version(self, model: str, alias: str) -> str | None: ...

    def set_alias(self, model: str, alias: str, version: str) -> None: ...

    def set_version_tags(self, model: str, version: str, tags: dict[str, str]) -> None: ...

    def version_tags(self, model: str, version: str) -> dict[str, str]: ...

    def version_run(self, model: str, version: str) -> str | None:
        """The run a version was registered from; None when the version does not exist."""
        ...

    def write_version_artifact(self, model: str, version: str, name: str, text: str) -> str:
        """Store ``text`` as artifact ``name`` of the version's run; returns its URI."""
        ...

    def read_artifact(self, uri: str) -> str | None:
        """The text at an artifact URI that ``write_version_artifact`` returned, or None."""
        ...

    def marker(self, name: str) -> str | None:
        """A durable value driftloop keeps for itself (promote's last judged commit)."""
        ...

    def set_marker(self, name: str, value: str) -> None: ...
