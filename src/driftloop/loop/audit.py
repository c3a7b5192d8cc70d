"""Judge every change that reached the default branch since the last one judged.

promote.yml runs on each push, but one push can carry several commits (the pin, then
anything), and a pending run cancelled by a newer one (the workflow's concurrency group) is
never judged on its own. So promote walks back from the pushed commit to the push's
``before`` or to a durable marker of the last commit it judged (kept in MLflow), whichever
is further back, and judges each recorded push in between, oldest first:

- a merge of a pull request: each pin it changes is promoted (or refused) as ever, and any
  other production path it changes must carry an approval by a code owner of that path;
- anything else (a direct push, a force push, a commit no push record explains) that changes
  a production path is an unapproved change: reported, an issue opened, exit 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from driftloop.adapters.registry import ModelRegistry
from driftloop.adapters.repohost import ProposalHost, Push
from driftloop.attestation import Envelope, sign_envelope
from driftloop.errors import DataError
from driftloop.gitops.body import escape_text
from driftloop.gitops.overlay import OVERLAY_FILE
from driftloop.loop.judge import approval_settings, is_merge, judge_pull, short
from driftloop.loop.promote import Promotion, SigningKey, changed_models, promote

__all__ = ["MARKER", "PRODUCTION_PATHS", "Audit", "Change", "audit", "is_production"]

MARKER = "promote.last_judged_commit"
# The marker is signed when promote signs approvals: anyone with the MLflow token could
# otherwise move it past a push whose promote run was cancelled, and that push would never
# be judged. A marker that does not verify is evidence of tampering: promote then judges as
# far back as it looks (MAX_COMMITS), not only the push's own range.
MARKER_TYPE = "application/vnd.driftloop.promote-marker"
# What changes what production runs, besides a model's pin: the manifests Argo CD syncs to
# production, the public keys the servers trust and the rules promote judges by.
PRODUCTION_PATHS = (
    "k8s/",
    "policies/approval-keys/",
    "policies/gates.yaml",
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
)
NOT_PRODUCTION = ("k8s/overlays/staging/",)
MAX_COMMITS = 200
_SHA = re.compile(r"[0-9a-f]{40}")


def is_production(path: str) -> bool:
    if path.startswith(NOT_PRODUCTION):
        return False
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PRODUCTION_PATHS)


@dataclass(frozen=True)
class Change:
    """One recorded push that changed production paths, and whether an approval covers it."""

    push: Push
    paths: list[str]
    approved: bool
    pull_request: int | None = None
    reasons: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    issue: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": f"{short(self.push.before)}..{short(self.push.after)}",
            "before": self.push.before,
            "after": self.push.after,
            "kind": self.push.kind,
            "actor": self.push.actor,
            "paths": self.paths,
            "approved": self.approved,
            "pull_request": self.pull_request,
            "reasons": self.reasons,
            "rules": self.rules,
            "issue": self.issue,
        }


@dataclass(frozen=True)
class Audit:
    start: str  # exclusive: the last commit judged before
    end: str
    changes: list[Change]
    promotions: list[Promotion]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every change approved and every pin promoted (a pin a later merge in the same range
        replaced is not a failure: the later one is judged)."""
        superseded = ["current-pin"]
        return all(c.approved for c in self.changes) and all(
            p.promoted or p.rules == superseded for p in self.promotions
        )


def _chain(host: ProposalHost, end: str, stops: set[str]) -> tuple[list[str], str]:
    """Commits from ``end`` back along first parents, newest first, up to the furthest of
    ``stops`` found (or only ``end`` when none is)."""
    chain: list[str] = []
    current = end
    while current and len(chain) < MAX_COMMITS:
        chain.append(current)
        parents = host.parents(current)
        current = parents[0] if parents else ""
    chain.append(current)
    if "" in stops:  # everything it can see
        return chain[:-1], chain[-1]
    found = [i for i, sha in enumerate(chain) if sha in stops]
    if not found:
        return chain[:1], chain[1] if len(chain) > 1 else ""
    cut = max(found)
    return chain[:cut], chain[cut]


def _units(host: ProposalHost, branch: str, commits: list[str]) -> list[Push]:
    """The recorded pushes that brought ``commits`` (newest first in, oldest first out);
    a commit no record explains becomes a push of kind ``unrecorded``."""
    wanted = set(commits)
    units: list[Push] = []
    covered: set[str] = set()
    for push in host.pushes(branch):
        if push.after not in wanted or push.after in covered or not push.before.strip("0"):
            continue
        units.append(push)
        current = push.after
        while current and current != push.before and current in wanted:
            covered.add(current)
            parents = host.parents(current)
            current = parents[0] if parents else ""
    for commit in commits:
        if commit not in covered:
            parents = host.parents(commit)
            if parents:  # the root commit is where the repository starts, not a change
                units.append(Push(branch, parents[0], commit, "", "unrecorded"))
    order = {sha: i for i, sha in enumerate(commits)}
    return sorted(units, key=lambda u: -order[u.after])


def _read_marker(registry: ModelRegistry, key: SigningKey | None) -> tuple[str | None, str | None]:
    """The last judged commit, and a note when a stored marker was not trusted (the caller
    then judges as far back as it looks)."""
    text = registry.marker(MARKER)
    if not text:
        return None, None
    if key is None:
        return (text if _SHA.fullmatch(text) else None), None
    try:
        envelope = Envelope.from_json(text)
    except DataError:
        return None, "promote's marker in MLflow is not signed: ignored"
    signer = envelope.verified_by({key.keyid: key.key.public_key()})
    commit = envelope.payload.decode(errors="replace")
    if signer is None or envelope.payload_type != MARKER_TYPE or not _SHA.fullmatch(commit):
        return None, "promote's marker in MLflow does not verify: ignored (was it moved?)"
    return commit, None


def _write_marker(registry: ModelRegistry, commit: str, key: SigningKey | None) -> None:
    if key is None:
        registry.set_marker(MARKER, commit)
        return
    envelope = sign_envelope(MARKER_TYPE, commit.encode(), key.key, key.keyid)
    registry.set_marker(MARKER, envelope.to_json())


def _judge_change(host: ProposalHost, push: Push, paths: list[str]) -> Change:
    others = [p for p in paths if p != OVERLAY_FILE]
    if not is_merge(push):
        by = f" by {push.actor}" if push.actor else " by an unknown actor"
        what = "direct push" if push.kind == "push" else push.kind.replace("_", " ")
        reason = f"{short(push.after)} reached production paths as a {what}{by}, not a merge"
        return Change(push, paths, False, reasons=[reason], rules=["merged-pull-request"])
    pull = host.merged_pull(push.after)
    if pull is None:
        reason = f"GitHub names no pull request merged as {short(push.after)}"
        return Change(push, paths, False, reasons=[reason], rules=["merged-pull-request"])
    if not others:  # only pins: promote judges those, model by model
        return Change(push, paths, True, pull.number)
    settings = approval_settings(host, push.before)
    refusals, approvers = judge_pull(host, pull, settings, push.before, others)
    if refusals:
        return Change(
            push, paths, False, pull.number, [str(r) for r in refusals],
            sorted({r.rule for r in refusals}),
        )  # fmt: skip
    return Change(push, paths, True, pull.number, [f"approved by {', '.join(approvers)}"])


def _report(host: ProposalHost, change: Change) -> Change:
    """An issue for an unapproved change (found again, not opened twice)."""
    title = f"Unapproved change to production: {short(change.push.after)}"
    lines = [
        (
            "driftloop promote found a change to production paths on the default branch that "
            "no approved pull request made. Revert it, or review it in a pull request."
        ),
        "",
        f"- commits: `{short(change.push.before)}..{short(change.push.after)}`",
        f"- how: {escape_text(change.push.kind)} by {escape_text(change.push.actor or 'unknown')}",
        *(f"- path: {escape_text(path)}" for path in change.paths[:50]),
        *(f"- refused: {escape_text(reason)}" for reason in change.reasons),
    ]
    labels = ["driftloop", "unapproved-change"]
    issue = host.open_issue(title, "\n".join(lines) + "\n", labels)
    return Change(**{**change.__dict__, "issue": issue.url})


def audit(
    host: ProposalHost,
    registry: ModelRegistry,
    end: str,
    since: str | None = None,
    *,
    signing_key: SigningKey | None = None,
    repository: str = "",
    report: bool = True,
) -> Audit:
    """Judge every push to the default branch after the last judged commit (or ``since``,
    whichever is further back) up to ``end``, then remember ``end`` as judged."""
    branch = host.default_branch
    end = host.resolve(end)
    marker, note = _read_marker(registry, signing_key)
    stops = {sha for sha in (marker, since) if sha and set(sha) != {"0"}}
    if note:  # tampered: every commit it can see back to the root (up to MAX_COMMITS)
        stops = {""}
    commits, start = _chain(host, end, stops)
    notes = [note] if note else []
    if not commits:  # judged already (a re-run of the same push): nothing new
        return Audit(end, end, [], [], notes)
    changes: list[Change] = []
    promotions: list[Promotion] = []
    for push in reversed(_units(host, branch, commits)):  # oldest first
        paths = [p for p in host.changed_files(push.before, push.after) if is_production(p)]
        if not paths:
            continue
        change = _judge_change(host, push, paths)
        judged = [
            promote(model, host, registry, commit=push.after, signing_key=signing_key,
                    repository=repository)
            for model in changed_models(host, push.after, push.before)
        ]  # fmt: skip
        refused = [p for p in judged if not p.promoted and p.rules != ["current-pin"]]
        if change.approved and refused:  # a pin its merge's approval did not cover
            reasons = [reason for p in refused for reason in p.reasons]
            rules = sorted({rule for p in refused for rule in p.rules})
            change = Change(push, paths, False, change.pull_request, reasons, rules)
        if not change.approved and report:
            change = _report(host, change)
        changes.append(change)
        promotions += judged
    _write_marker(registry, end, signing_key)
    return Audit(start, end, changes, promotions, notes)
