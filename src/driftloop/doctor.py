"""`driftloop doctor`: is a real installation wired up? One ok/fail line per check, each
failure with its fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from driftloop.config import load_drift_policy, load_gate_policy, load_model
from driftloop.errors import DriftloopError

__all__ = [
    "Check",
    "check_configs",
    "check_github",
    "check_local_repo",
    "check_mlflow",
    "check_prometheus",
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


def _codeowners_cover(text: str) -> bool:
    for line in text.splitlines():
        pattern = line.split("#", 1)[0].split()
        if len(pattern) >= 2 and pattern[0].strip("/").rstrip("*").rstrip("/") in (
            "k8s/overlays/production",
            "k8s/overlays",
            "k8s",
            "",
        ):
            return True
    return False


def check_github() -> list[Check]:
    from driftloop.adapters.github import GitHubHost, repository_facts

    def facts() -> dict[str, object]:
        return repository_facts(GitHubHost.from_environment())

    try:
        found = facts()
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
    reviews = int(found["required_reviews"])  # type: ignore[call-overload]
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
        Check(
            "branch protection",
            reviews >= 1,
            f"{branch} requires {reviews} approving review(s)",
            "docs/branch-protection.md: require a pull request with at least one approval",
        ),
        Check(
            "code owners",
            bool(found["code_owner_reviews"]) and _codeowners_cover(str(found["codeowners"])),
            "CODEOWNERS covers k8s/overlays/production and reviews are required"
            if found["code_owner_reviews"]
            else "code owner review not required or CODEOWNERS lacks the overlay",
            "add k8s/overlays/production/ to .github/CODEOWNERS and require code owner review",
        ),
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
    codeowners = repo / ".github/CODEOWNERS"
    covered = codeowners.is_file() and _codeowners_cover(codeowners.read_text())
    return [
        Check(
            "local repo host",
            True,
            f"{repo} is a git repository; merges go through `driftloop pulls merge`",
        ),
        Check(
            "code owners",
            covered,
            ".github/CODEOWNERS covers k8s/overlays/production"
            if covered
            else "no CODEOWNERS entry for the production overlay",
            "add k8s/overlays/production/ to .github/CODEOWNERS",
        ),
    ]
