"""What ``promote`` judges a merge by: the commit's parents, the pull request it merged, that
pull request's reviews and pushers, and the members of a code-owner team."""

from __future__ import annotations

import re

from github.NamedUser import NamedUser
from github.PaginatedList import PaginatedList

from driftloop.adapters.github.client import GitHubClient, upstream
from driftloop.adapters.repohost import PullRequest
from driftloop.gitops.approval import Review

__all__ = ["MergeFacts"]

_SHA = re.compile(r"^[0-9a-f]{40}$")


class MergeFacts(GitHubClient):
    def resolve(self, ref: str) -> str:
        if _SHA.match(ref):
            return ref
        with upstream(f"resolving {ref}"):
            return str(self.repo.get_git_ref(f"heads/{ref}").object.sha)

    def parents(self, commit: str) -> list[str]:
        with upstream(f"reading commit {commit[:12]}"):
            return [parent.sha for parent in self.repo.get_commit(commit).parents]

    def merged_pull(self, commit: str) -> PullRequest | None:
        with upstream(f"finding the pull request merged as {commit[:12]}"):
            for pull in self.repo.get_commit(commit).get_pulls():
                if (
                    pull.merged_at is not None
                    and pull.merge_commit_sha == commit
                    and pull.base.ref == self.default_branch
                ):
                    return self._pull(self.repo.get_pull(pull.number))
        return None

    def reviews(self, pull: PullRequest) -> list[Review]:
        with upstream(f"reading the reviews of #{pull.number}"):
            return [
                Review(
                    user=review.user.login if review.user else "",
                    state=review.state,
                    commit_id=review.commit_id,
                    submitted_at=review.submitted_at,
                    bot=bool(review.user and review.user.type == "Bot"),
                )
                for review in self.repo.get_pull(pull.number).get_reviews()
            ]

    def pushers(self, pull: PullRequest) -> set[str]:
        found = set()
        with upstream(f"reading the commits of #{pull.number}"):
            for commit in self.repo.get_pull(pull.number).get_commits():
                for user in (commit.author, commit.committer):
                    # web-flow is GitHub itself committing edits and merges made on the site
                    if user is not None and user.login != "web-flow":
                        found.add(user.login)
        return found

    def team_members(self, team: str) -> set[str]:
        org, _, slug = team.partition("/")
        with upstream(f"listing the members of team {team} (the token needs members: read)"):
            members = PaginatedList(
                NamedUser, self.client.requester, f"/orgs/{org}/teams/{slug}/members", None
            )
            return {member.login for member in members}
