"""requirements/image.txt is what the image installs and release.yml audits: it must pin
every dependency pyproject.toml declares, at a version the declaration accepts."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from driftloop.adapters.vulnerabilities import read_lock
from driftloop.config.audit_policy import DependencyAuditPolicy, load_audit_policy
from driftloop.gates.dependencies import Vulnerability, judge_vulnerabilities

ROOT = Path(__file__).resolve().parents[2]


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {canonicalize_name(k): v for k, v in read_lock(ROOT / "requirements/image.txt").items()}
    problems = []
    for text in declared:
        requirement = Requirement(text)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside {requirement.specifier}")
    assert problems == [], "run bash scripts/lock-image.sh"


def test_the_shipped_policy_loads() -> None:
    policy = load_audit_policy(ROOT / "policies/dependencies.yaml")
    assert policy.fail_at == "high"


def _policy(**data: object) -> DependencyAuditPolicy:
    return DependencyAuditPolicy.model_validate({"apiVersion": "driftloop/v1",
                                                 "kind": "DependencyAudit", **data})  # fmt: skip


def test_levels_unknown_severity_and_unused_allowances() -> None:
    found = [
        Vulnerability("a", "1", "GHSA-1", severity="critical"),
        Vulnerability("b", "1", "GHSA-2", severity="medium"),
        Vulnerability("c", "1", "PYSEC-3", aliases=("CVE-3",), severity=None),
    ]
    allow = [
        {"id": "CVE-3", "reason": "not reachable from the server", "expires": "2030-01-01"},
        {"id": "GHSA-9", "reason": "was needed for an old pin", "expires": "2030-01-01"},
    ]
    verdict = judge_vulnerabilities(found, _policy(fail_at="high", allow=allow), date(2029, 1, 1))
    assert [v.id for v in verdict.failing] == ["GHSA-1"]
    assert [v.id for v in verdict.below] == ["GHSA-2"]
    assert [v.id for v, _ in verdict.allowed] == ["PYSEC-3"]  # by its alias
    assert [a.id for a in verdict.unused] == ["GHSA-9"]
    late = judge_vulnerabilities(found, _policy(allow=allow), date(2030, 1, 2))
    assert [v.id for v in late.failing] == ["GHSA-1", "PYSEC-3"]
    assert late.to_dict()["expired_allowances"][0]["allowance"]["expires"] == "2030-01-01"
    assert judge_vulnerabilities(found, _policy(fail_at="low"), date(2029, 1, 1)).below == []
