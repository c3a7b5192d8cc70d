"""What doctor checks in the checkout: the configs load, every model has its manifests and a
pin in each overlay, and the local repo host is a git repository with CODEOWNERS."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from driftloop.config import ModelSpec, load_drift_policy, load_gate_policy, load_model
from driftloop.config.fleet import fleet_problems
from driftloop.doctor.check import Check
from driftloop.doctor.repository import check_codeowners
from driftloop.errors import ConfigError, DriftloopError

T = TypeVar("T")

__all__ = [
    "check_approval_keys",
    "check_audit_policy",
    "check_configs",
    "check_gitops",
    "check_local_repo",
]


def check_configs(models_dir: Path, policies_dir: Path) -> tuple[list[Check], list[str]]:
    checks, specs = [], {}
    for path in sorted(models_dir.glob("*/model.yaml")):
        try:
            spec = load_model(path.parent.name, models_dir)
            _check_estimator(spec, path)
            specs[spec.name] = spec
        except DriftloopError as error:
            checks.append(Check(f"config {path}", False, str(error), "fix the key named above"))
    drift_path, gates_path = policies_dir / "drift.yaml", policies_dir / "gates.yaml"
    drift = _loaded(drift_path, load_drift_policy, checks)
    gates = _loaded(gates_path, load_gate_policy, checks)
    if drift is not None and gates is not None and not checks:
        problems = fleet_problems(specs, drift, gates, str(drift_path), str(gates_path))
        checks += [
            Check(f"config {p.source}", False, str(p), "fix the key named above") for p in problems
        ]
    if not specs and not checks:
        checks.append(
            Check(
                "config models", False, f"no models/<name>/model.yaml under {models_dir}", "add one"
            )
        )
    if not checks:
        checks.append(Check("configs", True, f"{len(specs)} model(s) and both policies valid"))
    audit = check_audit_policy(policies_dir, datetime.now(UTC).date())
    if audit is not None:
        checks.append(audit)
    return checks, list(specs)


def _loaded(path: Path, loader: Callable[[Path], T], checks: list[Check]) -> T | None:
    try:
        return loader(path)
    except DriftloopError as error:
        checks.append(Check(f"config {path}", False, str(error), "fix the key named above"))
        return None


def _check_estimator(spec: ModelSpec, path: Path) -> None:
    """The estimator class imports (a typo would otherwise surface in the first retrain)."""
    if spec.estimator is None:
        return
    module, _, name = spec.estimator.class_.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(str(path), "estimator.class", f"does not import: {error}") from None
    if not (isinstance(found, type) and hasattr(found, "fit")):
        raise ConfigError(str(path), "estimator.class", f"{found!r} is not an estimator class")
    if spec.estimator.search is not None:  # the check retrain's search makes, ahead of it
        from driftloop.train.search import check_search_parameters

        check_search_parameters(spec, path.parent)


def check_audit_policy(policies_dir: Path, today: date) -> Check | None:
    """policies/dependencies.yaml (release.yml's dependency audit), when there is one: valid,
    and no allowance past its expiry (the next release would fail on it)."""
    from driftloop.config.audit_policy import load_audit_policy

    path = policies_dir / "dependencies.yaml"
    if not path.is_file():
        return None
    try:
        policy = load_audit_policy(path)
    except DriftloopError as error:
        return Check(f"config {path}", False, str(error), "fix the key named above")
    expired = [f"{a.id} ({a.expires})" for a in policy.allow if a.expires < today]
    if expired:
        fix = "fix the dependency or review the allowance again (docs/runbook.md)"
        return Check("dependency audit", False, f"allowances expired: {', '.join(expired)}", fix)
    return Check("dependency audit", True, f"{path}: fail at {policy.fail_at}, "
                 f"{len(policy.allow)} allowance(s) in date")  # fmt: skip


def check_approval_keys(root: Path) -> Check:
    """The public keys production verifies approvals with are in the repository (where
    CODEOWNERS protects them and Argo CD ships them as a ConfigMap)."""
    from driftloop.attestation import load_public_keys

    folder = root / "policies/approval-keys"
    name = "approval keys"
    try:
        keys = load_public_keys(folder)
    except DriftloopError as error:
        return Check(name, False, str(error), "driftloop keygen --out policies/approval-keys "
                     "(commit the .pub, store the .key as the environment secret "
                     "DRIFTLOOP_SIGNING_KEY, delete it)")  # fmt: skip
    return Check(name, True, f"{len(keys)} key(s) in {folder}: {', '.join(sorted(keys))}")


def check_gitops(root: Path) -> list[Check]:
    """Every model can be served, before its first retrain: models/<name> has a Rollout
    (k8s/models/<name>, generated) and a version pin in each overlay, and no overlay pins a
    model without a models/<name>/model.yaml."""
    from driftloop.generate.manifests import stale
    from driftloop.gitops.overlay import OVERLAY_FILE, STAGING_FILE, pins

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
