"""`promote`: after a reviewed merge, record who approved it and move the champion alias.

The merge is judged by what cannot be written into a body: the merge commit's own diff
must set the model's version; the pull request is the one GitHub says made that commit,
from a ``driftloop/<model>-v<version>`` branch of this repository whose head pins the same
version; and that head carries an approval (see driftloop.gitops.approval). Anything else is
refused with the rule that failed, and MLflow is not touched.

MLflow records nobody who moves an alias; the version tags written here (approver, pull
request, approved head) are the audit trail, written before the alias moves so that a
champion never lacks them. The model server checks them before it serves a version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from driftloop.adapters.registry import ModelRegistry
from driftloop.adapters.repohost import ProposalHost, PullRequest, proposal_model
from driftloop.config import ApprovalSettings, GatePolicy
from driftloop.config.base import parse_document
from driftloop.errors import ConfigError, UsageError
from driftloop.gitops.approval import Refusal, judge_reviews
from driftloop.gitops.codeowners import LOCATIONS, CodeOwners, parse_codeowners
from driftloop.gitops.overlay import OVERLAY_FILE, generator_name, pins

__all__ = ["GATE_POLICY_FILE", "Promotion", "changed_models", "promote", "setting_commit"]

GATE_POLICY_FILE = "policies/gates.yaml"


@dataclass(frozen=True)
class Promotion:
    model: str
    version: str
    promoted: bool
    reasons: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)  # the rules that refused it

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "promoted": self.promoted,
            "reasons": self.reasons,
            "rules": self.rules,
            "tags": self.tags,
        }


def _short(sha: str) -> str:
    return sha[:12]


def _pins_at(host: ProposalHost, ref: str) -> dict[str, str]:
    text = host.read_file_or_none(OVERLAY_FILE, ref)
    return {} if text is None else pins(text, f"{OVERLAY_FILE}@{_short(ref)}")


# How far back along the default branch promote looks for the commit that set a pin.
SEARCH_COMMITS = 100


def setting_commit(host: ProposalHost, model: str, start: str) -> str:
    """The commit, following first parents from ``start``, that set ``model``'s current pin
    (what promote judges when no commit is given)."""
    commit, pinned = start, _pins_at(host, start).get(model)
    for _ in range(SEARCH_COMMITS):
        parents = host.parents(commit)
        if not parents or _pins_at(host, parents[0]).get(model) != pinned:
            return commit
        commit = parents[0]
    raise UsageError(
        f"the commit that pinned {model} at {pinned} is more than {SEARCH_COMMITS} commits "
        "back: pass --commit"
    )


def changed_models(host: ProposalHost, commit: str) -> list[str]:
    """Models whose version pin ``commit`` changes (against its first parent)."""
    parents = host.parents(commit)
    before = _pins_at(host, parents[0]) if parents else {}
    after = _pins_at(host, commit)
    return sorted(m for m, v in after.items() if before.get(m) != v and not v.startswith("@"))


def _code_owners(host: ProposalHost, ref: str) -> CodeOwners | None:
    for path in LOCATIONS:
        text = host.read_file_or_none(path, ref)
        if text is not None:
            return parse_codeowners(text, path)
    return None


def approval_settings(host: ProposalHost, ref: str | None) -> ApprovalSettings:
    """The approval rules as they were at ``ref`` (the base of the merge), so that a pull
    request cannot relax the rules its own merge is judged by."""
    text = host.read_file_or_none(GATE_POLICY_FILE, ref) if ref else None
    if text is None:
        return ApprovalSettings()
    source = f"{GATE_POLICY_FILE}@{_short(ref or '')}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(source, "", "not valid YAML") from None
    return parse_document(GatePolicy, data, source).approval


def _owner_check(
    host: ProposalHost, settings: ApprovalSettings, base: str | None
) -> tuple[Callable[[str], bool] | None, Refusal | None]:
    """Who may approve under CODEOWNERS, read at the base of the merge: a pull request
    that edits CODEOWNERS cannot make its own author an owner."""
    owners = _code_owners(host, base) if base else None
    required = settings.require_code_owner
    if required is False or (required == "auto" and owners is None):
        return None, None
    if owners is None:
        return lambda _: False, Refusal(
            "code-owner", "code owners are required but the base of the merge has no CODEOWNERS"
        )
    entries = owners.owners_of(OVERLAY_FILE)
    if not entries:
        return lambda _: False, Refusal(
            "code-owner", f"{owners.source} names no owner of {OVERLAY_FILE}"
        )
    users = {e[1:] for e in entries if e.startswith("@") and "/" not in e}
    teams = [e[1:] for e in entries if e.startswith("@") and "/" in e]
    members: set[str] | None = None

    def is_owner(login: str) -> bool:
        nonlocal members
        if login in users:
            return True
        if members is None:
            members = set().union(*(host.team_members(team) for team in teams))
        return login in members

    return is_owner, None


def _refused(model: str, version: str, headline: str, refusals: list[Refusal]) -> Promotion:
    return Promotion(
        model,
        version,
        False,
        [f"refused: {headline}", *(str(r) for r in refusals)],
        rules=sorted({r.rule for r in refusals}),
    )


def _judge_pull(
    host: ProposalHost,
    pull: PullRequest,
    model: str,
    version: str,
    settings: ApprovalSettings,
    base: str | None,
) -> tuple[list[Refusal], tuple[str, ...]]:
    refusals = []
    if pull.head_repo != pull.base_repo:
        refusals.append(
            Refusal("same-repository", f"#{pull.number} comes from the fork {pull.head_repo}")
        )
    if proposal_model(pull.branch) != model:
        refusals.append(
            Refusal(
                "driftloop-branch",
                f"#{pull.number}'s head branch {pull.branch!r} is not driftloop/{model}-v<N>",
            )
        )
    head_pin = _pins_at(host, pull.head_sha).get(model) if pull.head_sha else None
    if head_pin != version:
        refusals.append(
            Refusal(
                "head-sets-version",
                f"#{pull.number}'s head {_short(pull.head_sha)} pins {model} "
                f"{'v' + head_pin if head_pin else 'nothing'}, not v{version}: "
                "what merged is not what was reviewed",
            )
        )
    is_owner, owner_refusal = _owner_check(host, settings, base)
    if owner_refusal:
        refusals.append(owner_refusal)
    reviewed = judge_reviews(
        host.reviews(pull),
        author=pull.author,
        head_sha=pull.head_sha,
        merged_at=pull.merged_at,
        pushers=host.pushers(pull),
        bots=settings.bots,
        is_owner=is_owner,
    )
    if len(reviewed.approvals) < settings.min_approvals:
        refusals.append(
            Refusal(
                "approval",
                f"#{pull.number} has {len(reviewed.approvals)} counted approval(s) of its head "
                f"{_short(pull.head_sha)}; {settings.min_approvals} required",
            )
        )
        refusals += reviewed.refusals
    return refusals, reviewed.approvers


def promote(
    model: str,
    host: ProposalHost,
    registry: ModelRegistry,
    version: str | None = None,
    *,
    commit: str | None = None,
    settings: ApprovalSettings | None = None,
) -> Promotion:
    """Promote what ``commit`` pins for ``model``, if the merge that set it was approved.
    Without ``commit``: what the default branch pins, judged at the commit that set it.
    ``settings`` default to the approval rules of policies/gates.yaml at the base of the
    merge."""
    default = host.default_branch
    head = host.resolve(default)
    at = host.resolve(commit) if commit else head
    after = _pins_at(host, at)
    if model not in after:
        raise ConfigError(
            OVERLAY_FILE, f"configMapGenerator.{generator_name(model)}", f"does not pin {model!r}"
        )
    pinned = after[model]
    if pinned.startswith("@"):
        raise UsageError(
            f"{OVERLAY_FILE} pins an alias ({pinned}), not a version: nothing to promote"
        )
    if version is not None and version != pinned:
        raise UsageError(f"v{version} is not what {_short(at)} pins for {model} (v{pinned})")
    if at != head and _pins_at(host, head).get(model) != pinned:
        refusal = Refusal("current-pin", f"{default} no longer pins v{pinned}")
        return _refused(model, pinned, f"{_short(at)} was superseded", [refusal])
    if registry.alias_version(model, "champion") == pinned:
        return Promotion(model, pinned, True, [f"v{pinned} is the champion already"])
    commit = at if commit else setting_commit(host, model, head)

    parents = host.parents(commit)
    base = parents[0] if parents else None
    settings = settings or approval_settings(host, base)
    headline = (
        f"v{pinned} of {model} reached {default} in {_short(commit)} without a current approval"
    )
    if (_pins_at(host, base) if base else {}).get(model) == pinned:
        refusal = Refusal(
            "merge-sets-version",
            f"{_short(commit)} does not change {model}'s version (v{pinned} was pinned before "
            "it); promote the merge that set it (--commit)",
        )
        return _refused(model, pinned, headline, [refusal])
    pull = host.merged_pull(commit)
    if pull is None:
        refusal = Refusal(
            "merged-pull-request",
            f"{_short(commit)} is not the merge of a pull request into {default} (a direct push)",
        )
        return _refused(model, pinned, headline, [refusal])
    refusals, approvers = _judge_pull(host, pull, model, pinned, settings, base)
    if refusals:
        return _refused(model, pinned, headline, refusals)

    tags = {
        "approved_by": ",".join(approvers),
        "pr_url": pull.url,
        "pr_number": str(pull.number),
        "head_sha": pull.head_sha,
        "merged_by": pull.merged_by or "",
        "commit": commit,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promotion": "reviewed",
    }
    registry.set_version_tags(model, pinned, tags)
    registry.set_alias(model, "champion", pinned)
    return Promotion(
        model,
        pinned,
        True,
        [f"v{pinned} is now the champion (approved by {tags['approved_by']} in #{pull.number})"],
        tags,
    )
