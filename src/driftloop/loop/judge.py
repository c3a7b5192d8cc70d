"""What promote judges a change to the default branch by, read from the repository host's own
records rather than from anything a pusher writes:

- the base: the state of the default branch the merge applied to is the ``before`` of the
  push GitHub recorded for it (for a rebase merge that is not the merge commit's parent,
  which is the pull request's own earlier commit); CODEOWNERS and the approval rules are read
  there, so a pull request cannot make its own rules;
- who pushed to the pull request: the actors GitHub recorded for pushes to its branch (commit
  author and committer fields are whatever the pusher typed); a head no recorded push made
  is refused;
- code owners: only owners with write access count, as on GitHub.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from driftloop.adapters.repohost import ProposalHost, PullRequest, Push, proposal_model
from driftloop.config import ApprovalSettings, GatePolicy
from driftloop.config.base import parse_document, read_yaml
from driftloop.gitops.approval import Refusal, judge_reviews
from driftloop.gitops.codeowners import LOCATIONS, CodeOwners, parse_codeowners
from driftloop.gitops.overlay import OVERLAY_FILE, pins

__all__ = [
    "GATE_POLICY_FILE",
    "WRITE_ROLES",
    "approval_settings",
    "is_merge",
    "judge_pull",
    "pins_at",
    "recorded_push",
    "short",
]

GATE_POLICY_FILE = "policies/gates.yaml"
WRITE_ROLES = ("admin", "maintain", "write")
# Kinds of push a branch update may be; only these put someone's commits on a branch.
_PUSHING = ("push", "force_push", "branch_creation")
_MERGES = ("pr_merge", "merge_queue_merge")


def short(sha: str | None) -> str:
    return (sha or "no commit")[:12]


def pins_at(host: ProposalHost, ref: str) -> dict[str, str]:
    text = host.read_file_or_none(OVERLAY_FILE, ref)
    return {} if text is None else pins(text, f"{OVERLAY_FILE}@{short(ref)}")


def recorded_push(
    host: ProposalHost, branch: str, commit: str, pushes: Sequence[Push] | None = None
) -> Push | None:
    """The recorded update of ``branch`` that brought ``commit`` (its ``after``, or a commit
    between its ``before`` and ``after`` along first parents: a rebase merge brings several)."""
    pushes = list(pushes) if pushes is not None else host.pushes(branch)
    for push in pushes:
        if push.after == commit:
            return push
    for push in pushes:
        current, steps = push.after, 0
        while current and current != push.before and steps < 100:
            if current == commit:
                return push
            parents = host.parents(current)
            current, steps = (parents[0] if parents else ""), steps + 1
    return None


def is_merge(push: Push) -> bool:
    return push.kind in _MERGES


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
    source = f"{GATE_POLICY_FILE}@{short(ref)}"
    return parse_document(GatePolicy, read_yaml(text, source), source).approval


class _Owners:
    """Whether a login owns every changed path (itself or through a team that can push) and
    has write access; each team and login is looked up once."""

    def __init__(self, host: ProposalHost, entries: dict[str, list[str]]) -> None:
        self.host, self.entries = host, entries
        self.members: dict[str, set[str]] = {}
        self.roles: dict[str, str] = {}

    def _team(self, team: str) -> set[str]:
        if team not in self.members:
            host = self.host
            self.members[team] = host.team_members(team) if host.team_can_push(team) else set()
        return self.members[team]

    def _owns(self, login: str, found: list[str]) -> bool:
        names = [entry.removeprefix("@") for entry in found]
        return login in names or any(login in self._team(n) for n in names if "/" in n)

    def __call__(self, login: str) -> bool:
        if not all(self._owns(login, found) for found in self.entries.values()):
            return False
        if login not in self.roles:
            self.roles[login] = self.host.permission(login)
        return self.roles[login] in WRITE_ROLES


def _owner_check(
    host: ProposalHost, settings: ApprovalSettings, base: str, paths: Sequence[str]
) -> tuple[Callable[[str], bool] | None, Refusal | None]:
    """Who may approve under CODEOWNERS read at the base: an owner of every changed path
    who has write access (GitHub ignores owners without it, and teams without it)."""
    if settings.require_code_owner is False:
        return None, None
    owners = _code_owners(host, base)
    if owners is None:  # "auto" too: with no CODEOWNERS nobody is known to own production
        return lambda _: False, Refusal(
            "code-owner", f"code owners are required but the base {short(base)} has no CODEOWNERS"
        )
    entries = {path: list(owners.owners_of(path)) for path in paths}
    unowned = [path for path, found in entries.items() if not found]
    if unowned:
        return lambda _: False, Refusal(
            "code-owner", f"{owners.source} names no owner of {', '.join(unowned)}"
        )
    return _Owners(host, entries), None


def pushers(host: ProposalHost, pull: PullRequest) -> tuple[set[str], list[Refusal]]:
    """Everyone GitHub recorded pushing to the pull request's branch, with the commits'
    own author and committer logins; refused when the head is no recorded push's."""
    pushes = host.pushes(pull.branch)
    actors = {p.actor for p in pushes if p.kind in _PUSHING}
    refusals = []
    if pull.head_sha and not any(p.after == pull.head_sha for p in pushes):
        refusals.append(
            Refusal(
                "push-record",
                f"no recorded push to {pull.branch} made its head {short(pull.head_sha)}: "
                "who pushed it cannot be established",
            )
        )
    if "" in actors:
        refusals.append(Refusal("push-record", f"a push to {pull.branch} has no recorded actor"))
    return (actors - {""}) | host.pushers(pull), refusals


def judge_pull(
    host: ProposalHost,
    pull: PullRequest,
    settings: ApprovalSettings,
    base: str,
    paths: Sequence[str] = (OVERLAY_FILE,),
    pin: tuple[str, str] | None = None,
) -> tuple[list[Refusal], tuple[str, ...]]:
    """Refusals (none: approved) and counted approvers of a merged pull request. With
    ``pin`` (model, version) it must also be that model's driftloop proposal whose head
    pins that version."""
    refusals = []
    if pull.head_repo != pull.base_repo:
        refusals.append(
            Refusal("same-repository", f"#{pull.number} comes from the fork {pull.head_repo}")
        )
    if pin is not None:
        model, version = pin
        if proposal_model(pull.branch) != model:
            refusals.append(
                Refusal(
                    "driftloop-branch",
                    f"#{pull.number}'s head branch {pull.branch!r} is not driftloop/{model}-v<N>",
                )
            )
        head_pin = pins_at(host, pull.head_sha).get(model) if pull.head_sha else None
        if head_pin != version:
            refusals.append(
                Refusal(
                    "head-sets-version",
                    f"#{pull.number}'s head {short(pull.head_sha)} pins {model} "
                    f"{'v' + head_pin if head_pin else 'nothing'}, not v{version}: "
                    "what merged is not what was reviewed",
                )
            )
    is_owner, owner_refusal = _owner_check(host, settings, base, paths)
    if owner_refusal:
        refusals.append(owner_refusal)
    pushed, push_refusals = pushers(host, pull)
    refusals += push_refusals
    reviewed = judge_reviews(
        host.reviews(pull),
        author=pull.author,
        head_sha=pull.head_sha,
        merged_at=pull.merged_at,
        pushers=pushed,
        bots=settings.bots,
        is_owner=is_owner,
    )
    if len(reviewed.approvals) < settings.min_approvals:
        refusals.append(
            Refusal(
                "approval",
                f"#{pull.number} has {len(reviewed.approvals)} counted approval(s) of its head "
                f"{short(pull.head_sha)}; {settings.min_approvals} required",
            )
        )
        refusals += reviewed.refusals
    return refusals, reviewed.approvers
