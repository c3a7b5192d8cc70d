"""What GitHub itself recorded, rather than what a commit says about itself: who pushed to a
branch (the repository activity API), which files two commits differ in, and who may write
to the repository (collaborator and team permissions, which GitHub applies to code owners).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from github import GithubException

from driftloop.adapters.github.client import GitHubClient, upstream
from driftloop.adapters.repohost import Push

__all__ = ["RecordedFacts"]

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_WRITE = ("admin", "maintain", "write")


def _push(entry: dict[str, Any], branch: str) -> Push:
    actor = entry.get("actor") or {}
    stamp = entry.get("timestamp")
    return Push(
        branch=branch,
        before=str(entry.get("before") or ""),
        after=str(entry.get("after") or ""),
        actor=str(actor.get("login") or "") if isinstance(actor, dict) else "",
        kind=str(entry.get("activity_type") or ""),
        at=datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None,
    )


class RecordedFacts(GitHubClient):
    def pushes(self, branch: str, limit: int = 300) -> list[Push]:
        """``GET /repos/{owner}/{repo}/activity?ref=refs/heads/<branch>``, newest first,
        following the Link header's cursor for up to ``limit`` entries."""
        requester = self.client.requester
        url: str | None = f"/repos/{self.repository}/activity"
        params: dict[str, Any] | None = {"ref": f"refs/heads/{branch}", "per_page": 100}
        found: list[Push] = []
        with upstream(f"reading the activity of {branch} (the token needs contents: read)"):
            while url and len(found) < limit:
                headers, data = requester.requestJsonAndCheck("GET", url, parameters=params)
                found += [_push(entry, branch) for entry in data or [] if isinstance(entry, dict)]
                match = _NEXT.search(str(headers.get("link", "")))
                url, params = (match.group(1), None) if match else (None, None)
        return found[:limit]

    def changed_files(self, before: str, after: str) -> list[str]:
        with upstream(f"comparing {before[:12]}...{after[:12]}"):
            comparison = self.repo.compare(before, after)
            paths: set[str] = set()
            for changed in comparison.files:
                paths.add(changed.filename)
                if changed.previous_filename:
                    paths.add(changed.previous_filename)
            return sorted(paths)

    def permission(self, login: str) -> str:
        path = f"/repos/{self.repository}/collaborators/{quote(login, safe='')}/permission"
        try:
            _, data = self.client.requester.requestJsonAndCheck("GET", path)
        except GithubException as error:
            if error.status == 404:  # not a collaborator at all
                return "none"
            with upstream(f"reading {login}'s permission"):
                raise
        role = str((data or {}).get("role_name") or "")
        permission = str((data or {}).get("permission") or "none")
        return "write" if role == "maintain" else permission

    def team_can_push(self, team: str) -> bool:
        org, _, slug = team.partition("/")
        path = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/repos/{self.repository}"
        try:
            _, data = self.client.requester.requestJsonAndCheck(
                "GET", path, headers={"Accept": "application/vnd.github.v3.repository+json"}
            )
        except GithubException as error:
            if error.status == 404:  # the team has no access to this repository
                return False
            with upstream(f"reading team {team}'s access (the token needs members: read)"):
                raise
        permissions = (data or {}).get("permissions") or {}
        return bool(
            permissions.get("push") or permissions.get("maintain") or permissions.get("admin")
        )


def can_write(permission: str) -> bool:
    return permission in _WRITE
