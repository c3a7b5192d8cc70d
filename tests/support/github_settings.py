"""The fake GitHub's repository settings: branch protection, rulesets, environments and
their secrets, teams, and who may write (collaborator and team permissions). A mixin of
FakeGitHub (tests/support/github_server.py), which holds the state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RepositorySettings:
    def protect(
        self,
        reviews: int = 1,
        code_owners: bool = True,
        dismiss_stale: bool = True,
        last_push: bool = True,
        enforce_admins: bool = True,
    ) -> None:
        """Classic branch protection on main."""
        url = f"{self._repo_url()}/branches/main/protection"
        self.protection = self.instances.of(
            "branch-protection",
            url=url,
            required_pull_request_reviews={
                "url": f"{url}/required_pull_request_reviews",
                "required_approving_review_count": reviews,
                "require_code_owner_reviews": code_owners,
                "dismiss_stale_reviews": dismiss_stale,
                "require_last_push_approval": last_push,
            },
            enforce_admins={"url": f"{url}/enforce_admins", "enabled": enforce_admins},
        )

    def add_ruleset(
        self,
        reviews: int = 1,
        code_owners: bool = True,
        dismiss_stale: bool = True,
        last_push: bool = True,
        bypass: list[JSON] | None = None,
    ) -> int:
        """A repository ruleset on the default branch with a pull_request rule."""
        ruleset_id = next(self.ids)
        self.rulesets[ruleset_id] = self.instances.of(
            "repository-ruleset", id=ruleset_id, name="main", source=f"{self.owner}/{self.repo}",
            source_type="Repository", enforcement="active", target="branch",
            bypass_actors=bypass or [],
        )  # fmt: skip
        self.rules.append({
            "type": "pull_request", "ruleset_source_type": "Repository",
            "ruleset_source": f"{self.owner}/{self.repo}", "ruleset_id": ruleset_id,
            "parameters": {"required_approving_review_count": reviews, "require_code_owner_review": code_owners,
                           "dismiss_stale_reviews_on_push": dismiss_stale, "require_last_push_approval": last_push,
                           "required_review_thread_resolution": False},
        })  # fmt: skip
        return ruleset_id

    def add_environment(self, name: str, branches: list[str] | None = None,
                        protected_branches: bool = False, secrets: list[str] | None = None) -> None:  # fmt: skip
        """An environment; ``branches`` (custom deployment branch policies) or
        ``protected_branches``; neither: every branch may deploy."""
        policy = None
        if branches is not None or protected_branches:
            policy = {
                "protected_branches": protected_branches,
                "custom_branch_policies": branches is not None,
            }
        self.environments[name] = self.instances.of(
            "environment", id=next(self.ids), name=name, url=f"{self._repo_url()}/environments/{name}",
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/deployments/activity_log?environments_filter={name}",
            deployment_branch_policy=policy,
        )  # fmt: skip
        self.branch_policies[name] = [
            {"id": next(self.ids), "node_id": "x", "name": b, "type": "branch"}
            for b in branches or []
        ]
        self.environment_secrets[name] = list(secrets or [])

    def get_protection(self, branch: str, **_: Any) -> tuple[int, Any]:
        if self.protection is None:
            return 404, {"message": "Branch not protected"}
        return 200, self.protection

    def branch_rules(self, branch: str, **_: Any) -> tuple[int, Any]:
        return 200, self.rules if branch == "main" else []

    def get_ruleset(self, ruleset: str, **_: Any) -> tuple[int, Any]:
        found = self.rulesets.get(int(ruleset))
        return (200, found) if found else (404, {"message": "Not Found"})

    def get_environment(self, name: str, **_: Any) -> tuple[int, Any]:
        found = self.environments.get(name)
        return (200, found) if found else (404, {"message": "Not Found"})

    def list_branch_policies(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.environments:
            return 404, {"message": "Not Found"}
        policies = self.branch_policies.get(name, [])
        return 200, {"total_count": len(policies), "branch_policies": policies}

    def list_environment_secrets(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.environments:
            return 404, {"message": "Not Found"}
        return 200, self._secrets(self.environment_secrets.get(name, []))

    def team_members(self, org: str, slug: str, **_: Any) -> tuple[int, Any]:
        members = self.teams.get(f"{org}/{slug}")
        if members is None:
            return 404, {"message": "Not Found"}
        return 200, [self._user(login) for login in members]

    def collaborator_permission(self, login: str, **_: Any) -> tuple[int, Any]:
        permission = self.permissions.get(login, "write")
        if permission == "none":
            return 404, {"message": "Not Found"}
        role = {"admin": "admin", "write": "write", "maintain": "maintain", "triage": "triage"}.get(
            permission, "read"
        )
        legacy = {"maintain": "write", "triage": "read"}.get(permission, permission)
        return 200, self.instances.of("repository-collaborator-permission", permission=legacy,
                                      role_name=role, user=self._user(login))  # fmt: skip

    def team_repo(self, org: str, slug: str, **_: Any) -> tuple[int, Any]:
        team = f"{org}/{slug}"
        if team not in self.teams:
            return 404, {"message": "Not Found"}
        access = self.team_access.get(team, "push")
        order = ["pull", "triage", "push", "maintain", "admin"]
        level = order.index(access)
        repo = self.instances.of(
            "team-repository", id=1, name=self.repo, full_name=f"{self.owner}/{self.repo}",
            owner=self._user(self.owner), url=self._repo_url(), html_url="https://github.invalid/r",
            role_name=access, permissions={k: order.index(k) <= level for k in order},
        )  # fmt: skip
        return 200, repo

    def list_repo_secrets(self, **_: Any) -> tuple[int, Any]:
        return 200, self._secrets(self.repo_secrets)

    def _secrets(self, names: list[str]) -> JSON:
        return {"total_count": len(names),
                "secrets": [{"name": n, "created_at": _now(), "updated_at": _now()} for n in names]}  # fmt: skip
