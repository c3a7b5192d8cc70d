"""Judging the image's known vulnerabilities against policies/dependencies.yaml: pure logic
over what pip-audit found and OSV says of each (driftloop.adapters.vulnerabilities)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from driftloop.config.audit_policy import SEVERITIES, Allowance, DependencyAuditPolicy

__all__ = ["AuditVerdict", "Vulnerability", "judge_vulnerabilities", "osv_severity"]

# GitHub's advisory levels as OSV carries them (database_specific.severity)
_LEVELS = {"LOW": "low", "MODERATE": "medium", "MEDIUM": "medium", "HIGH": "high",
           "CRITICAL": "critical"}  # fmt: skip


def osv_severity(record: dict[str, Any]) -> str | None:
    """An OSV record's severity level, or None when it gives none (PyPI's own PYSEC records
    often carry only a CVSS vector; the GHSA alias then says)."""
    specific = record.get("database_specific")
    level = specific.get("severity") if isinstance(specific, dict) else None
    return _LEVELS.get(str(level).upper()) if level else None


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    severity: str | None = None  # low, medium, high, critical; None: OSV gives none
    summary: str = ""

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package, "version": self.version, "id": self.id,
            "aliases": list(self.aliases), "fix_versions": list(self.fix_versions),
            "severity": self.severity, "summary": self.summary,
        }  # fmt: skip


def _allowance(v: Vulnerability, allow: list[Allowance]) -> Allowance | None:
    for entry in allow:
        if entry.id in v.ids and entry.package in (None, v.package):
            return entry
    return None


@dataclass
class AuditVerdict:
    fail_at: str
    failing: list[Vulnerability] = field(default_factory=list)
    below: list[Vulnerability] = field(default_factory=list)  # under fail_at: reported only
    allowed: list[tuple[Vulnerability, Allowance]] = field(default_factory=list)
    expired: list[tuple[Vulnerability, Allowance]] = field(default_factory=list)
    unused: list[Allowance] = field(default_factory=list)  # allowances nothing needs now

    @property
    def passed(self) -> bool:
        return not self.failing

    def to_dict(self) -> dict[str, Any]:
        def allowance(a: Allowance) -> dict[str, Any]:
            return {"id": a.id, "package": a.package, "reason": a.reason,
                    "expires": a.expires.isoformat()}  # fmt: skip

        return {
            "passed": self.passed,
            "fail_at": self.fail_at,
            "failing": [v.to_dict() for v in self.failing],
            "below_level": [v.to_dict() for v in self.below],
            "allowed": [{**v.to_dict(), "allowance": allowance(a)} for v, a in self.allowed],
            "expired_allowances": [
                {**v.to_dict(), "allowance": allowance(a)} for v, a in self.expired
            ],
            "unused_allowances": [allowance(a) for a in self.unused],
        }


def judge_vulnerabilities(
    vulnerabilities: list[Vulnerability], policy: DependencyAuditPolicy, today: date
) -> AuditVerdict:
    """A vulnerability at or above ``fail_at`` (or of unknown severity) fails unless an
    allowance names it and has not expired; an expired one fails and is listed as such."""
    verdict = AuditVerdict(policy.fail_at)
    floor = SEVERITIES.index(policy.fail_at)
    used: set[int] = set()
    for v in vulnerabilities:
        if v.severity in SEVERITIES and SEVERITIES.index(v.severity) < floor:
            verdict.below.append(v)
            continue
        entry = _allowance(v, policy.allow)
        if entry is None:
            verdict.failing.append(v)
            continue
        used.add(id(entry))
        if entry.expires < today:
            verdict.expired.append((v, entry))
            verdict.failing.append(v)
        else:
            verdict.allowed.append((v, entry))
    verdict.unused = [a for a in policy.allow if id(a) not in used]
    return verdict
