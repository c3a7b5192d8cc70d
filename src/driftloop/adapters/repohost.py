"""The repository host interface: dispatching retrains, PRs and issues, and the facts
`promote` judges a merge by (commits, the pull request a commit merged, its reviews)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from driftloop.gitops.approval import Review
from driftloop.gitops.inputs import MAX_EVIDENCE_CHARS
from driftloop.policy.signals import History

__all__ = [
    "MAX_EVIDENCE_CHARS",
    "Edits",
    "Issue",
    "ProposalHost",
    "PullRequest",
    "Push",
    "RepoHost",
    "compact_evidence",
    "proposal_branch",
    "proposal_marker",
    "proposal_model",
]


def compact_evidence(evidence: dict[str, Any]) -> str:
    text = json.dumps(evidence, separators=(",", ":"), sort_keys=True, default=str)
    if len(text) <= MAX_EVIDENCE_CHARS:
        return text
    kept = ("signal", "warnings", "window", "since", "critical_fraction", "realised_performance",
            "estimated_performance", "prediction_share", "schedule")  # fmt: skip
    trimmed: dict[str, Any] = {k: evidence[k] for k in kept if k in evidence}
    trimmed["top_features"] = evidence.get("top_features", [])[:3]
    return json.dumps(trimmed, separators=(",", ":"), sort_keys=True, default=str)[
        :MAX_EVIDENCE_CHARS
    ]


class RepoHost(Protocol):
    def retrain_history(self, model: str, now: datetime) -> History:
        """Dispatches up to ``now``, an open driftloop PR, a queued or running retrain."""
        ...

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        """``retrain_history`` of every model, in a fixed number of requests for the fleet;
        with ``since``, every dispatch since then (a monthly schedule's period)."""
        ...

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        """Start the retrain workflow; returns where to look (run URL or record path)."""
        ...


def proposal_branch(model: str, version: str) -> str:
    return f"driftloop/{model}-v{version}"


_BRANCH = re.compile(r"^driftloop/(?P<model>[a-z0-9][a-z0-9_-]*)-v(?P<version>\d+)$")


def proposal_model(branch: str) -> str | None:
    """The model a ``driftloop/<model>-v<version>`` branch proposes, else None."""
    match = _BRANCH.match(branch)
    return match.group("model") if match else None


def proposal_marker(model: str, version: str) -> str:
    """Written at the end of every proposal's body for people and searches. Nothing trusts
    it: anyone can edit a body, so promote identifies a PR by its merge and branch."""
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
    head_sha: str = ""
    # owner/name of the repository the head branch lives in: another one is a fork
    head_repo: str = ""
    base_repo: str = ""
    base_branch: str = ""
    merged_at: datetime | None = None


@dataclass(frozen=True)
class Push:
    """One update of a branch as the host recorded it (GitHub's repository activity): who
    moved it from ``before`` to ``after``, and how."""

    branch: str
    before: str
    after: str
    actor: str  # login; "" when the host does not know
    kind: str  # push, force_push, branch_creation, branch_deletion, pr_merge, merge_queue_merge
    at: datetime | None = None


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

    def find_open_issue(self, model: str, kind: str = "gate-failed") -> Issue | None: ...

    def open_issue(self, title: str, body: str, labels: list[str]) -> Issue: ...

    def comment(self, issue: Issue, body: str) -> None: ...

    # ---- what promote judges a merge by -------------------------------------------------
    def resolve(self, ref: str) -> str:
        """The commit SHA a branch name or SHA stands for."""
        ...

    def parents(self, commit: str) -> list[str]: ...

    def read_file_or_none(self, path: str, ref: str) -> str | None:
        """The file at ``ref``, or None when it does not exist there."""
        ...

    def merged_pull(self, commit: str) -> PullRequest | None:
        """The pull request whose merge made ``commit`` on the default branch, if any."""
        ...

    def reviews(self, pull: PullRequest) -> list[Review]: ...

    def pushers(self, pull: PullRequest) -> set[str]:
        """Logins that authored or committed the pull request's commits."""
        ...

    def team_members(self, team: str) -> set[str]:
        """Members of ``org/team`` (for CODEOWNERS entries naming a team)."""
        ...

    def pushes(self, branch: str, limit: int = 300) -> list[Push]:
        """The branch's recorded updates, newest first (at most ``limit``)."""
        ...

    def changed_files(self, before: str, after: str) -> list[str]:
        """Paths that differ between two commits."""
        ...

    def permission(self, login: str) -> str:
        """The login's base role on the repository: admin, write, read or none."""
        ...

    def team_can_push(self, team: str) -> bool:
        """Whether ``org/team`` has write access to the repository."""
        ...
