"""What doctor checks on GitHub: access, the retrain workflow, CODEOWNERS over every path
that changes production, branch protection or rulesets with no bypass, and the environment
that holds the secrets (docs/branch-protection.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driftloop.doctor.check import Check
from driftloop.errors import DriftloopError

__all__ = [
    "PRODUCTION_PATHS",
    "check_codeowners",
    "check_environment",
    "check_github",
    "check_protection",
]


# What changes what production runs: each must have a code owner, so that the review that
# lets it merge is an owner's (one path stands for each folder).
PRODUCTION_PATHS = (
    "k8s/overlays/production/kustomization.yaml",
    "k8s/overlays/staging/kustomization.yaml",
    "k8s/base/rollout.yaml",
    "k8s/components/istio-shadow/kustomization.yaml",
    "k8s/argocd/project.yaml",
    "models/churn/model.yaml",
    "models/churn/train.py",
    "policies/gates.yaml",
    "policies/approval-keys/signing.pub",
    "src/driftloop/loop/promote.py",
    "scripts/promote.sh",
    ".github/workflows/promote.yml",
    ".github/CODEOWNERS",
    "Dockerfile",
    "pyproject.toml",
)
# The settings that make a pull request review the gate (docs/branch-protection.md).
SETTINGS = (
    "required reviews",
    "code owner review",
    "dismiss stale approvals",
    "approval of the most recent push",
)
# DRIFTLOOP_SIGNING_KEY signs approvals: at repository level any branch's workflow could sign.
SECRETS = ("MLFLOW_TRACKING_URI", "DRIFTLOOP_APP_PRIVATE_KEY", "DRIFTLOOP_SIGNING_KEY")
FIX_PROTECTION = "docs/branch-protection.md: a ruleset (or branch protection) on the default branch"


def check_codeowners(text: str | None, where: str) -> Check:
    from driftloop.gitops.codeowners import parse_codeowners

    name, fix = "code owners", "give every path that changes production an owner in CODEOWNERS"
    if text is None:
        return Check(name, False, f"no CODEOWNERS in {where}", fix)
    owners = parse_codeowners(text)
    unowned = [path for path in PRODUCTION_PATHS if not owners.owners_of(path)]
    if unowned:
        return Check(name, False, f"no owner for {', '.join(unowned)}", fix)
    return Check(name, True, f"CODEOWNERS owns every path that changes production ({where})")


@dataclass(frozen=True)
class _Source:
    name: str
    settings: dict[str, bool]
    bypass: str | None  # why someone can merge past it, or None


def _protection_sources(facts: dict[str, Any]) -> list[_Source]:
    sources = []
    classic = facts.get("protection")
    if classic:
        reviews = classic.get("required_pull_request_reviews") or {}
        admins = (classic.get("enforce_admins") or {}).get("enabled")
        sources.append(
            _Source(
                "branch protection",
                dict(zip(SETTINGS, (
                    (reviews.get("required_approving_review_count") or 0) >= 1,
                    bool(reviews.get("require_code_owner_reviews")),
                    bool(reviews.get("dismiss_stale_reviews")),
                    bool(reviews.get("require_last_push_approval")),
                ), strict=True)),
                None if admins else "branch protection does not include administrators",
            )
        )  # fmt: skip
    for rule in facts.get("rules", []):
        if rule.get("type") != "pull_request":
            continue
        params = rule.get("parameters") or {}
        ruleset = facts.get("rulesets", {}).get(rule.get("ruleset_id"))
        name = f"ruleset {(ruleset or {}).get('name') or rule.get('ruleset_id')}"
        if ruleset is None:
            bypass: str | None = f"{name}: its bypass list cannot be read with this token"
        elif ruleset.get("bypass_actors"):
            actors = ", ".join(
                f"{a.get('actor_type')} {a.get('actor_id') or ''}".strip()
                for a in ruleset["bypass_actors"]
            )
            bypass = f"{name} lets {actors} bypass it"
        elif ruleset.get("enforcement", "active") != "active":
            bypass = f"{name} is not enforced ({ruleset.get('enforcement')})"
        else:
            bypass = None
        sources.append(
            _Source(
                name,
                dict(zip(SETTINGS, (
                    (params.get("required_approving_review_count") or 0) >= 1,
                    bool(params.get("require_code_owner_review")),
                    bool(params.get("dismiss_stale_reviews_on_push")),
                    bool(params.get("require_last_push_approval")),
                ), strict=True)),
                bypass,
            )
        )  # fmt: skip
    return sources


def check_protection(facts: dict[str, Any]) -> list[Check]:
    """Each setting that makes review the gate, held by branch protection or a ruleset on
    the default branch, and none of them bypassable."""
    branch = facts["default_branch"]
    sources = _protection_sources(facts)
    checks = []
    for setting in SETTINGS:
        holders = [s.name for s in sources if s.settings[setting]]
        checks.append(
            Check(
                f"branch protection: {setting}",
                bool(holders),
                f"{branch}: {', '.join(holders)}" if holders else f"{branch} does not require it",
                FIX_PROTECTION,
            )
        )
    bypasses = sorted(
        {
            s.bypass
            for setting in SETTINGS
            for s in sources
            if s.settings[setting] and s.bypass
            and not any(o.settings[setting] and o.bypass is None for o in sources)
        }
    )  # fmt: skip
    held = any(s.settings[setting] for s in sources for setting in SETTINGS)
    checks.append(
        Check(
            "branch protection: no bypass",
            held and not bypasses,
            "; ".join(bypasses) if bypasses else ("nobody can bypass it" if held else "no rules"),
            "docs/branch-protection.md: include administrators; no bypass actors",
        )
    )
    return checks


def check_environment(facts: dict[str, Any], environment: str) -> list[Check]:
    """The environment that holds the secrets: only the default branch may deploy to it, and
    the secrets are there, not at repository level (where any branch's workflow reads them)."""
    branch = facts["default_branch"]
    name, fix = f"environment {environment}", "docs/branch-protection.md: the environment"
    env = facts.get("environment")
    if env is None:
        return [
            Check(name, False, "missing (or this token cannot read it)", fix),
            Check("secrets", False, f"no environment {environment} to hold them", fix),
        ]
    policy = env.get("deployment_branch_policy")
    allowed = facts.get("branch_policies")
    if policy is None:
        branches = Check(name, False, "every branch may deploy to it (and read its secrets)", fix)
    elif policy.get("protected_branches"):
        branches = Check(name, False, f"any protected branch may deploy; allow {branch} only", fix)
    elif allowed != [branch]:
        branches = Check(name, False, f"branches {allowed} may deploy; allow {branch} only", fix)
    else:
        branches = Check(name, True, f"only {branch} may deploy to it")
    secrets = "secrets"
    env_secrets, repo_secrets = facts.get("environment_secrets"), facts.get("repo_secrets")
    if env_secrets is None or repo_secrets is None:
        found = Check(secrets, False, "cannot list secrets with this token", "grant secrets: read")
    elif leaked := [s for s in (*SECRETS, "MLFLOW_TRACKING_TOKEN") if s in repo_secrets]:
        found = Check(
            secrets, False, f"{', '.join(leaked)} at repository level: every branch reads them",
            f"move them to the environment {environment}",
        )  # fmt: skip
    elif missing := [s for s in SECRETS if s not in env_secrets]:
        found = Check(secrets, False, f"{', '.join(missing)} missing in {environment}", fix)
    else:
        found = Check(secrets, True, f"{', '.join(SECRETS)} only in environment {environment}")
    return [branches, found]


def check_github(environment: str = "driftloop") -> list[Check]:
    from driftloop.adapters.github import GitHubHost, repository_facts

    try:
        found = repository_facts(GitHubHost.from_environment(), environment)
    except DriftloopError as error:
        return [
            Check(
                "GitHub access",
                False,
                str(error),
                "set GITHUB_REPOSITORY and GITHUB_TOKEN or the GitHub App",
            )
        ]
    branch = found["default_branch"]
    return [
        Check(
            "GitHub access",
            bool(found["push"]),
            "token can push branches" if found["push"] else "token cannot push",
            "grant contents, pull-requests, issues: write and actions: write",
        ),
        Check(
            "retrain workflow",
            bool(found["workflow"]),
            f".github/workflows/retrain.yml on {branch}"
            if found["workflow"]
            else f"retrain.yml missing on {branch}",
            "merge .github/workflows/retrain.yml to the default branch",
        ),
        check_codeowners(found["codeowners"], branch),
        *check_protection(found),
        *check_environment(found, environment),
    ]
