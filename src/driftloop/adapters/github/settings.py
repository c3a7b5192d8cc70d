"""The repository's settings that make the review the human gate, as ``driftloop doctor``
reads them: access, the workflow, CODEOWNERS, branch protection and rulesets, and the
environment that holds the secrets."""

from __future__ import annotations

from typing import Any

from github import GithubException

from driftloop.adapters.github.client import GitHubClient, upstream
from driftloop.adapters.github.runs import WORKFLOW
from driftloop.gitops.codeowners import LOCATIONS

__all__ = ["repository_facts"]


def _get(host: GitHubClient, path: str) -> Any:
    """GET a repository endpoint as JSON; None when it is absent (404) or not readable with
    this token (403) (doctor reports which settings it could not see)."""
    try:
        _, data = host.client.requester.requestJsonAndCheck(
            "GET", f"/repos/{host.repository}{path}"
        )
    except GithubException as error:
        if error.status in (403, 404):
            return None
        with upstream(f"reading {path}"):
            raise
    return data


def repository_facts(host: GitHubClient, environment: str) -> dict[str, Any]:
    """What `driftloop doctor` checks on GitHub: access, the workflow, CODEOWNERS, branch
    protection and rulesets on the default branch, and the environment holding the secrets."""
    repo = host.repo
    branch = str(repo.default_branch)
    permissions = repo.permissions
    facts: dict[str, Any] = {
        "default_branch": branch,
        "push": bool(permissions.push) if permissions is not None else None,
        "workflow": host.read_file_or_none(f".github/workflows/{WORKFLOW}", branch) is not None,
        "codeowners": next(
            (t for t in (host.read_file_or_none(p, branch) for p in LOCATIONS) if t is not None),
            None,
        ),
        "protection": _get(host, f"/branches/{branch}/protection"),
        "rules": _get(host, f"/rules/branches/{branch}") or [],
    }
    ids = {r.get("ruleset_id") for r in facts["rules"] if r.get("ruleset_id") is not None}
    facts["rulesets"] = {i: _get(host, f"/rulesets/{i}") for i in sorted(ids)}
    facts["environment"] = _get(host, f"/environments/{environment}")
    policies = _get(host, f"/environments/{environment}/deployment-branch-policies")
    facts["branch_policies"] = (
        [p["name"] for p in policies["branch_policies"] if p.get("type", "branch") == "branch"]
        if policies
        else None
    )
    secrets = _get(host, f"/environments/{environment}/secrets")
    facts["environment_secrets"] = [x["name"] for x in secrets["secrets"]] if secrets else None
    secrets = _get(host, "/actions/secrets")
    facts["repo_secrets"] = [x["name"] for x in secrets["secrets"]] if secrets else None
    return facts
