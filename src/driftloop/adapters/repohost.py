"""The repository host interface: dispatching retrains, and (issue #6) PRs and issues."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from driftloop.policy.signals import History

__all__ = [
    "MAX_EVIDENCE_CHARS",
    "Edits",
    "Issue",
    "ProposalHost",
    "PullRequest",
    "RepoHost",
    "compact_evidence",
    "proposal_branch",
    "proposal_marker",
]

# GitHub allows 65,535 characters per workflow_dispatch input; stay far below it so the
# dispatch never fails on size, keeping the most useful part (top features first).
MAX_EVIDENCE_CHARS = 4000


def compact_evidence(evidence: dict[str, Any]) -> str:
    text = json.dumps(evidence, separators=(",", ":"), sort_keys=True, default=str)
    if len(text) <= MAX_EVIDENCE_CHARS:
        return text
    trimmed: dict[str, Any] = {
        k: evidence[k] for k in ("window", "since", "critical_fraction") if k in evidence
    }
    trimmed["top_features"] = evidence.get("top_features", [])[:3]
    return json.dumps(trimmed, separators=(",", ":"), sort_keys=True, default=str)[
        :MAX_EVIDENCE_CHARS
    ]


class RepoHost(Protocol):
    def retrain_history(self, model: str, now: datetime) -> History:
        """Dispatches up to ``now``, an open driftloop PR, a queued or running retrain."""
        ...

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        """Start the retrain workflow; returns where to look (run URL or record path)."""
        ...


def proposal_branch(model: str, version: str) -> str:
    return f"driftloop/{model}-v{version}"


def proposal_marker(model: str, version: str) -> str:
    """Hidden in every proposal's body: finds the PR that set a version, whichever branch."""
    return f"<!-- driftloop: model={model} version={version} "


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    branch: str
    title: str
    state: str = "open"
    author: str = ""
    merged: bool = False
    merged_by: str | None = None
    merge_commit: str | None = None
    approvals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issue:
    number: int
    url: str
    title: str


# path -> edit applied to the file as it is on the branch when committing (a rebased edit:
# whatever changed on the default branch meanwhile is kept)
Edits = dict[str, Callable[[str], str]]


class ProposalHost(Protocol):
    """Branches, pull requests and issues. Nothing here ever writes the default branch."""

    @property
    def default_branch(self) -> str: ...

    def read_file(self, path: str, ref: str) -> str: ...

    def find_open_pull(self, model: str) -> PullRequest | None: ...

    def open_pull(
        self, model: str, branch: str, title: str, body: str, files: Edits, message: str,
        labels: list[str], reviewers: list[str],
    ) -> PullRequest: ...  # fmt: skip

    def update_pull(
        self, pull: PullRequest, title: str, body: str, files: Edits, message: str
    ) -> PullRequest: ...

    def find_open_issue(self, model: str) -> Issue | None: ...

    def open_issue(self, title: str, body: str, labels: list[str]) -> Issue: ...

    def comment(self, issue: Issue, body: str) -> None: ...

    def merged_pull_for(self, model: str, version: str) -> PullRequest | None: ...
