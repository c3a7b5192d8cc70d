"""`propose`: turn a gated candidate into a pull request (passed) or an issue (failed).

Idempotent: an open driftloop PR for the model is updated rather than duplicated, the same
version twice changes nothing, and a second failure comments on the open gate-failed issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from driftloop.adapters.repohost import ProposalHost, proposal_branch
from driftloop.config import ModelSpec
from driftloop.errors import DataError
from driftloop.gitops.body import render_issue, render_pull_request, render_retrain_failed
from driftloop.gitops.inputs import check_reason, check_trigger_id
from driftloop.gitops.overlay import DIGEST, OVERLAY_FILE, served_version, set_version

__all__ = ["Proposal", "propose", "report_failed_retrain"]

Action = Literal["created", "updated", "unchanged", "commented"]


@dataclass(frozen=True)
class Proposal:
    kind: Literal["pull_request", "issue"]
    action: Action
    number: int | None
    url: str | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "number": self.number,
            "url": self.url,
            "reason": self.reason,
        }


def _context(
    spec: ModelSpec,
    candidate: dict[str, Any],
    gate: dict[str, Any],
    evidence: dict[str, Any],
    critical: float,
    links: dict[str, str | None],
) -> dict[str, Any]:
    version = str(candidate["version"])
    return {
        "model": spec.name,
        "version": version,
        "gate": gate,
        "evidence": evidence,
        "critical": critical,
        "trigger_id": candidate.get("trigger_id") or "",
        "reason": candidate.get("reason") or "manual",
        "run_id": candidate.get("run_id", ""),
        "model_uri": candidate.get("model_uri", ""),
        "run_url": links.get("run_url"),
        "workflow_run_url": links.get("workflow_run_url"),
        "sensitive": spec.sensitive_attribute,
        "data_uri": candidate.get("data_uri", ""),
        "failed": gate.get("failed", []),
    }


def propose(
    spec: ModelSpec,
    candidate: dict[str, Any],
    gate: dict[str, Any],
    evidence: dict[str, Any],
    host: ProposalHost,
    reviewers: list[str],
    critical: float = 0.25,
    links: dict[str, str | None] | None = None,
) -> Proposal:
    version = str(candidate["version"])
    check_reason(str(candidate.get("reason") or "manual"), "candidate reason")
    check_trigger_id(str(candidate.get("trigger_id") or ""), "candidate trigger_id")
    context = _context(spec, candidate, gate, evidence, critical, links or {})
    if not gate.get("passed"):
        body = render_issue(context)
        issue = host.find_open_issue(spec.name)
        if issue is not None:
            host.comment(issue, body)
            return Proposal(
                "issue", "commented", issue.number, issue.url, "an issue for this model is open"
            )
        title = (
            f"driftloop: {spec.name} v{version} failed its gates ({', '.join(context['failed'])})"
        )
        created = host.open_issue(title, body, ["driftloop", "gate-failed", f"model:{spec.name}"])
        return Proposal("issue", "created", created.number, created.url)

    current = host.read_file(OVERLAY_FILE, host.default_branch)
    if served_version(current, spec.name) == version:  # ConfigError if it pins no such model
        return Proposal(
            "pull_request", "unchanged", None, None, f"production already serves v{version}"
        )
    branch = proposal_branch(spec.name, version)
    title = f"Deploy {spec.name} v{version}" + (
        f" (drift {candidate['trigger_id']})" if candidate.get("trigger_id") else ""
    )
    trigger = candidate.get("trigger_id") or "manual"
    message = (
        f"{spec.name}: serve model version {version}\n\n"
        f"Trigger: {trigger}; reason: {context['reason']}"
    )
    body = render_pull_request(context)
    existing = host.find_open_pull(spec.name)
    if existing is not None and existing.branch == branch:
        return Proposal(
            "pull_request", "unchanged", existing.number, existing.url, f"PR for v{version} is open"
        )
    digest = str(gate["candidate_digest"]) if gate.get("candidate_digest") else None
    if digest is not None and not DIGEST.fullmatch(digest):
        raise DataError(f"the gate report's candidate_digest {digest[:80]!r} is not sha256:<hex>")
    files = {OVERLAY_FILE: lambda text: set_version(text, spec.name, version, digest=digest)}
    if existing is not None:  # a newer candidate replaces the one under review
        updated = host.update_pull(existing, title, body, files, message)
        return Proposal(
            "pull_request", "updated", updated.number, updated.url, f"replaced {existing.branch}"
        )
    labels = ["driftloop", f"model:{spec.name}"]
    pull = host.open_pull(spec.name, branch, title, body, files, message, labels, reviewers)
    return Proposal("pull_request", "created", pull.number, pull.url)


def report_failed_retrain(
    spec: ModelSpec,
    problem: str,
    host: ProposalHost,
    trigger_id: str = "",
    reason: str = "manual",
    links: dict[str, str | None] | None = None,
) -> Proposal:
    """A retrain that refused its data (exit 2: empty window, schema drift, too few rows)
    becomes an issue naming the problem, or a comment on the open one: not a model."""
    check_reason(reason or "manual", "reason")
    check_trigger_id(trigger_id, "trigger_id")
    body = render_retrain_failed(
        {"model": spec.name, "problem": problem, "trigger_id": trigger_id, "reason": reason,
         "workflow_run_url": (links or {}).get("workflow_run_url")}
    )  # fmt: skip
    issue = host.find_open_issue(spec.name, "retrain-failed")
    if issue is not None:
        host.comment(issue, body)
        return Proposal("issue", "commented", issue.number, issue.url, "an issue is open")
    title = f"driftloop: retraining {spec.name} stopped before a model was made"
    labels = ["driftloop", "retrain-failed", f"model:{spec.name}"]
    created = host.open_issue(title, body, labels)
    return Proposal("issue", "created", created.number, created.url)
