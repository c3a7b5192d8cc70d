"""What counts as an approval (pure rules) and who owns a path (CODEOWNERS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftloop.gitops.approval import Review, judge_reviews
from driftloop.gitops.codeowners import parse_codeowners

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
HEAD, OLD = "h" * 40, "o" * 40
MERGED = T0 + timedelta(hours=1)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def judge(*reviews: Review, **kwargs: object) -> tuple[tuple[str, ...], list[str]]:
    options: dict[str, object] = {"author": "driftloop[bot]", "head_sha": HEAD, "merged_at": MERGED}
    options.update(kwargs)
    verdict = judge_reviews(reviews, **options)  # type: ignore[arg-type]
    return verdict.approvers, [r.rule for r in verdict.refusals]


def test_an_approval_of_the_head_before_the_merge_counts() -> None:
    assert judge(Review("alice", "APPROVED", HEAD, at(5))) == (("alice",), [])


@pytest.mark.parametrize(
    ("reviews", "rule"),
    [
        ([Review("alice", "APPROVED", OLD, at(5))], "approved-head"),
        ([Review("alice", "APPROVED", HEAD, at(61))], "approved-before-merge"),
        ([Review("alice", "APPROVED", HEAD, None)], "approved-before-merge"),
        (
            [
                Review("alice", "APPROVED", HEAD, at(5)),
                Review("alice", "CHANGES_REQUESTED", HEAD, at(9)),
            ],
            "latest-review",
        ),
        ([Review("alice", "DISMISSED", HEAD, at(5))], "latest-review"),
        ([Review("driftloop[bot]", "APPROVED", HEAD, at(5))], "independent-reviewer"),
        ([Review("ci", "APPROVED", HEAD, at(5), bot=True)], "independent-reviewer"),
        ([Review("x[bot]", "APPROVED", HEAD, at(5))], "independent-reviewer"),
    ],
)
def test_what_does_not_count(reviews: list[Review], rule: str) -> None:
    approvers, rules = judge(*reviews)
    assert approvers == ()
    assert rule in rules


def test_comments_do_not_withdraw_and_a_reapproval_restores() -> None:
    assert judge(
        Review("alice", "APPROVED", HEAD, at(5)), Review("alice", "COMMENTED", HEAD, at(6))
    )[0] == ("alice",)
    assert judge(
        Review("alice", "CHANGES_REQUESTED", OLD, at(5)), Review("alice", "APPROVED", HEAD, at(7))
    )[0] == ("alice",)


def test_order_is_by_submission_time_not_listing_order() -> None:
    approvers, rules = judge(
        Review("alice", "CHANGES_REQUESTED", HEAD, at(9)), Review("alice", "APPROVED", HEAD, at(5))
    )
    assert (approvers, rules) == ((), ["latest-review"])


def test_a_review_after_the_merge_changes_nothing_before_it() -> None:
    assert judge(
        Review("alice", "APPROVED", HEAD, at(5)), Review("alice", "CHANGES_REQUESTED", HEAD, at(70))
    )[0] == ("alice",)


def test_authors_pushers_and_owners() -> None:
    review = Review("alice", "APPROVED", HEAD, at(5))
    assert judge(review, author="alice")[1] == ["independent-reviewer"]
    assert judge(review, pushers={"alice"})[1] == ["independent-reviewer"]
    assert judge(review, is_owner=lambda login: login == "bob")[1] == ["code-owner"]
    assert judge(review, is_owner=lambda login: login == "alice")[0] == ("alice",)
    assert judge(review, bots=["alice"])[1] == ["independent-reviewer"]


CODEOWNERS = r"""
# comment
*                            @acme/everyone
/k8s/                        @acme/platform
/k8s/overlays/production/    @acme/ml-platform @olivia   # the human gate
docs/*                       docs@example.invalid
**/logs                      @ops
/k8s/overlays/staging/
apps/                        @apps
*.md                         @writers
\#weird                      @hash
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("k8s/overlays/production/kustomization.yaml", ("@acme/ml-platform", "@olivia")),
        ("k8s/base/rollout.yaml", ("@acme/platform",)),
        ("k8s/overlays/staging/kustomization.yaml", ()),  # a line without owners unowns it
        ("src/driftloop/cli/main.py", ("@acme/everyone",)),
        ("docs/runbook.md", ("@writers",)),  # the last match wins
        ("docs/adr/0001.txt", ("@acme/everyone",)),  # docs/* owns docs/ only, not below
        ("docs/x.txt", ("docs@example.invalid",)),
        ("deep/logs/x.log", ("@ops",)),
        ("src/apps/a.py", ("@apps",)),
        ("#weird", ("@hash",)),
    ],
)
def test_codeowners_last_match_wins(path: str, owners: tuple[str, ...]) -> None:
    assert parse_codeowners(CODEOWNERS).owners_of(path) == owners
