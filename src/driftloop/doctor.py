"""`driftloop doctor`: is a real installation wired up? One ok/fail line per check, each
failure with its fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from driftloop.config import load_drift_policy, load_gate_policy, load_model
from driftloop.errors import DriftloopError

__all__ = [
    "Check",
    "check_codeowners",
    "check_configs",
    "check_environment",
    "check_github",
    "check_gitops",
    "check_local_repo",
    "check_mlflow",
    "check_prometheus",
    "check_protection",
]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


def _guard(name: str, fix: str, body: Callable[[], Check]) -> Check:
    try:
        return body()
    except DriftloopError as error:
        return Check(name, False, str(error), fix)


def check_configs(models_dir: Path, policies_dir: Path) -> tuple[list[Check], list[str]]:
    checks, names = [], []
    for path in sorted(models_dir.glob("*/model.yaml")):
        try:
            names.append(load_model(path.parent.name, models_dir).name)
        except DriftloopError as error:
            checks.append(Check(f"config {path}", False, str(error), "fix the key named above"))
    for path, loader in (
        (policies_dir / "drift.yaml", load_drift_policy),
        (policies_dir / "gates.yaml", load_gate_policy),
    ):
        try:
            loader(path)
        except DriftloopError as error:
            checks.append(Check(f"config {path}", False, str(error), "fix the key named above"))
    if not names:
        checks.append(
            Check(
                "config models", False, f"no models/<name>/model.yaml under {models_dir}", "add one"
            )
        )
    if not checks:
        checks.append(Check("configs", True, f"{len(names)} model(s) and both policies valid"))
    return checks, names


def check_gitops(root: Path) -> list[Check]:
    """Every model can be served, before its first retrain: models/<name> has a Rollout
    (k8s/models/<name>, generated) and a version pin in each overlay, and no overlay pins a
    model without a models/<name>/model.yaml."""
    from driftloop.gitops.overlay import OVERLAY_FILE, STAGING_FILE, pins
    from driftloop.manifests import stale

    models = {p.parent.name for p in (root / "models").glob("*/model.yaml")}
    try:
        out_of_date = stale(root)
    except DriftloopError as error:
        return [Check("manifests", False, str(error), "fix the model.yaml named above")]
    checks = [
        Check(
            "manifests",
            not out_of_date,
            f"out of date: {', '.join(out_of_date)}" if out_of_date
            else f"a Rollout for each of {', '.join(sorted(models))}",
            "make manifests, then commit k8s/models/ and k8s/components/",
        )
    ]  # fmt: skip
    for overlay in (OVERLAY_FILE, STAGING_FILE):
        name = f"pins in {overlay.split('/')[-2]}"
        try:
            pinned = set(pins((root / overlay).read_text(encoding="utf-8"), overlay))
        except (OSError, DriftloopError) as error:
            checks.append(Check(name, False, str(error), f"fix {overlay}"))
            continue
        problems = [f"models/{m} has no version pin" for m in sorted(models - pinned)]
        problems += [
            f"pins {m!r}, which has no models/{m}/model.yaml" for m in sorted(pinned - models)
        ]
        checks.append(
            Check(
                name,
                not problems,
                "; ".join(problems) or f"every model pinned ({', '.join(sorted(pinned))})",
                f"add or remove the model-version-<model> generator in {overlay}",
            )
        )
    return checks


def check_prometheus(url: str | None) -> Check:
    name = "Prometheus"
    if not url:
        return Check(name, False, "no URL", "set DRIFTLOOP_PROMETHEUS_URL or pass --prometheus")
    try:
        body = httpx.get(f"{url.rstrip('/')}/api/v1/rules", timeout=10).json()
    except (httpx.HTTPError, ValueError) as error:
        return Check(
            name,
            False,
            f"{url} unreachable ({type(error).__name__})",
            "check the URL and NetworkPolicy",
        )
    rules = {
        r.get("name") for g in body.get("data", {}).get("groups", []) for r in g.get("rules", [])
    }
    psi = sorted(r for r in rules if r and r.startswith("driftloop:feature_psi:"))
    if not psi:
        return Check(
            name,
            False,
            f"{url} has no driftloop recording rules",
            "apply k8s/base/prometheus-rule.yaml",
        )
    return Check(name, True, f"{url} records {', '.join(psi)}")


def check_mlflow(models: list[str]) -> list[Check]:
    from driftloop.adapters.mlflow import MlflowRegistry

    registry = MlflowRegistry.from_environment()
    out = []
    for model in models:

        def one(model: str = model) -> Check:
            version = registry.alias_version(model, "champion")
            if version is None:
                return Check(
                    f"MLflow {model}",
                    False,
                    "no version with alias champion",
                    "retrain, gate, merge the PR, promote (or `mlflow` set the alias once)",
                )
            return Check(
                f"MLflow {model}", True, f"champion is v{version} ({registry.tracking_uri})"
            )

        out.append(_guard(f"MLflow {model}", "set MLFLOW_TRACKING_URI to a reachable server", one))
    return out


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
    "src/driftloop/promotion.py",
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
SECRETS = ("MLFLOW_TRACKING_URI", "DRIFTLOOP_APP_PRIVATE_KEY")
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


def check_local_repo(repo: Path) -> list[Check]:
    from driftloop.adapters.git import Git

    git = Git(repo)
    if not git.is_repository():
        return [
            Check(
                "local repo host",
                False,
                f"{repo} is not a git repository",
                "git init, commit k8s/ and policies/",
            )
        ]
    from driftloop.gitops.codeowners import LOCATIONS

    found = next((repo / p for p in LOCATIONS if (repo / p).is_file()), None)
    return [
        Check(
            "local repo host",
            True,
            f"{repo} is a git repository; merges go through `driftloop pulls merge`",
        ),
        check_codeowners(found.read_text() if found else None, str(repo)),
    ]
