"""``policies/dependencies.yaml`` (kind: DependencyAudit): which known vulnerabilities in the
image's locked dependencies stop a release, and the reviewed exceptions, each with a reason
and an expiry date so that none outlives its review."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from driftloop.config.base import API_VERSION, Document, Strict, load_document

__all__ = ["SEVERITIES", "Allowance", "DependencyAuditPolicy", "load_audit_policy"]

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


class Allowance(Strict):
    id: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9:._-]*$",
        description="The vulnerability's OSV id or one of its aliases (GHSA-..., PYSEC-..., "
        "CVE-...).",
    )
    package: str | None = Field(
        default=None, description="Only for this package (its PyPI name); any package if unset."
    )
    reason: str = Field(
        min_length=10, description="Why the release may ship with it (reviewed with the PR)."
    )
    expires: date = Field(
        strict=False,  # "2027-01-31" quoted in YAML is a date too
        description="The last day it is allowed (YYYY-MM-DD); after it the audit fails again.",
    )


class DependencyAuditPolicy(Document):
    api_version: Literal["driftloop/v1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["DependencyAudit"] = "DependencyAudit"
    fail_at: Severity = Field(
        default="high",
        description="The lowest severity that fails the release. A vulnerability whose "
        "severity OSV does not give fails at any level: unknown is not low.",
    )
    allow: list[Allowance] = Field(default_factory=list)


def load_audit_policy(path: Path = Path("policies/dependencies.yaml")) -> DependencyAuditPolicy:
    return load_document(DependencyAuditPolicy, path)
