"""Does a merged pull request carry a real approval? Pure: facts in, verdict out.

The rules follow what GitHub's own protections mean (an approval is bound to the commit it
was given on, and a newer push makes it stale) and close what they leave open after the
fact. An approval counts only when all of these hold:

- ``approved-head``: it was given on the pull request's final head commit;
- ``approved-before-merge``: it was submitted before the merge (in an earlier second);
- ``latest-review``: it is the reviewer's latest review state at the merge (a later
  CHANGES_REQUESTED or a dismissal withdraws it; comments do not);
- ``independent-reviewer``: the reviewer is neither the author, a bot, nor someone who
  pushed a commit to the pull request;
- ``code-owner``: when required, the reviewer owns the changed path (CODEOWNERS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Refusal", "Review", "Reviewed", "is_bot", "judge_reviews"]

# States that say something about approval; COMMENTED and PENDING do not.
_DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


@dataclass(frozen=True)
class Review:
    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING
    commit_id: str | None
    submitted_at: datetime | None
    bot: bool = False


@dataclass(frozen=True)
class Refusal:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.detail} [{self.rule}]"


@dataclass(frozen=True)
class Reviewed:
    """Who approved what merged, and why every other review did not count."""

    approvals: tuple[Review, ...]
    refusals: tuple[Refusal, ...]

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(review.user for review in self.approvals)


def is_bot(login: str, bots: Iterable[str] = ()) -> bool:
    return login.endswith("[bot]") or login in set(bots)


def _short(sha: str | None) -> str:
    return (sha or "no commit")[:12]


def judge_reviews(
    reviews: Iterable[Review],
    *,
    author: str,
    head_sha: str,
    merged_at: datetime | None,
    pushers: Iterable[str] = (),
    bots: Iterable[str] = (),
    is_owner: Callable[[str], bool] | None = None,
) -> Reviewed:
    """Sort reviews of one pull request into counted approvals and refusals with reasons.

    ``pushers`` are the logins that authored or committed a commit of the pull request;
    ``is_owner`` (None: code owners not required) says whether a login owns the change.
    """
    pushed = set(pushers)
    ordered = sorted(
        enumerate(reviews), key=lambda item: (item[1].submitted_at is None, item[1].submitted_at)
    )
    latest: dict[str, Review] = {}
    late: dict[str, Review] = {}
    for _, review in ordered:
        if review.state not in _DECISIVE:
            continue
        # GitHub stamps reviews and merges to the second: an approval stamped in the merge's
        # second cannot be shown to come before it, so it does not
        after_merge = merged_at is not None and (
            review.submitted_at is None or review.submitted_at >= merged_at
        )
        (late if after_merge else latest)[review.user] = review
    approvals, refusals = [], []
    for user, review in late.items():
        before = latest.get(user)
        if review.state == "APPROVED" and (before is None or before.state != "APPROVED"):
            refusals.append(
                Refusal("approved-before-merge", f"{user} approved only after the merge")
            )
    for review in latest.values():
        why = _why_not(review, author, head_sha, pushed, bots, is_owner)
        if why is None:
            approvals.append(review)
        elif review.state == "APPROVED" or why.rule == "latest-review":
            refusals.append(why)
    return Reviewed(tuple(approvals), tuple(refusals))


def _why_not(  # noqa: PLR0911 - one return per rule, checked in order
    review: Review,
    author: str,
    head_sha: str,
    pushed: set[str],
    bots: Iterable[str],
    is_owner: Callable[[str], bool] | None,
) -> Refusal | None:
    user = review.user
    if review.state != "APPROVED":
        state = review.state.lower().replace("_", " ")
        return Refusal("latest-review", f"{user}'s latest review is {state}: no approval")
    if user == author:
        return Refusal("independent-reviewer", f"{user} approved their own pull request")
    if review.bot or is_bot(user, bots):
        return Refusal("independent-reviewer", f"{user} is a bot")
    if user in pushed:
        return Refusal("independent-reviewer", f"{user} pushed a commit to this pull request")
    if review.commit_id != head_sha:
        return Refusal(
            "approved-head",
            f"{user} approved {_short(review.commit_id)}, not the merged head "
            f"{_short(head_sha)} (stale approval)",
        )
    if is_owner is not None and not is_owner(user):
        return Refusal("code-owner", f"{user} is not a code owner of the change with write access")
    return None
