"""The security gate (seed 001: "No new Bandit HIGH severity findings in retrained code"):
Bandit's findings in the model's own code against the champion's, stored with each version.

A finding is matched across versions by what it is, not where: the check (``B602``), the
file (relative to the model's folder) and the flagged line's text, whitespace collapsed. A
line that moved keeps its identity; a second ``eval`` on another line is a new finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from driftloop.gates.report import GateResult

__all__ = [
    "SEVERITIES",
    "Finding",
    "Severity",
    "findings_from_dict",
    "new_findings",
    "scan_dict",
    "security_gate",
]

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
GATE_NAME = "bandit-high"  # the contract's name, whatever the policy's level
_NUMBERED = re.compile(r"^(\d+)\s?(.*)$")


@dataclass(frozen=True)
class Finding:
    test_id: str
    severity: Severity
    confidence: str
    path: str  # relative to the model's folder
    line: int
    code: str  # the flagged line, whitespace collapsed
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.test_id, self.path, self.code

    def at_least(self, level: Severity) -> bool:
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_id": self.test_id, "severity": self.severity, "confidence": self.confidence,
            "path": self.path, "line": self.line, "code": self.code, "text": self.text,
        }  # fmt: skip

    def summary(self) -> str:
        return f"{self.test_id} {self.severity.upper()} {self.path}:{self.line}: {self.text}"


def _flagged_line(code: str, line: int) -> str:
    """Bandit's ``code`` is numbered context lines; the flagged one, whitespace collapsed."""
    for row in code.splitlines():
        match = _NUMBERED.match(row)
        if match and int(match.group(1)) == line:
            return " ".join(match.group(2).split())
    return " ".join(code.split())


def _severity(value: object) -> Severity:
    text = str(value).lower()
    for level in SEVERITIES:
        if text == level:
            return level
    raise ValueError(f"unknown severity {value!r}")


def findings_from_bandit(report: Any, root: str) -> list[Finding]:
    """Findings from ``bandit -f json`` output; file names made relative to ``root``.
    TypeError, ValueError or KeyError on anything that is not such a report."""
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise TypeError("not a Bandit JSON report (no results list)")
    prefix = root.rstrip("/") + "/"
    found = []
    for item in report["results"]:
        line = int(item["line_number"])
        name = str(item["filename"])
        code = _flagged_line(str(item["code"]), line)
        severity = _severity(item["issue_severity"])
        confidence = str(item["issue_confidence"]).lower()
        path = name.removeprefix(prefix)
        found.append(
            Finding(
                str(item["test_id"]),
                severity,
                confidence,
                path,
                line,
                code,
                str(item["issue_text"]),
            )
        )
    return sorted(found, key=lambda f: (f.path, f.line, f.test_id))


def scan_dict(findings: list[Finding], tool: str) -> dict[str, Any]:
    """What is stored with a version (``driftloop/bandit.json``)."""
    return {"tool": tool, "findings": [f.to_dict() for f in findings]}


def findings_from_dict(data: Any) -> list[Finding]:
    """A stored scan's findings; TypeError, ValueError or KeyError when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise TypeError("not a stored scan (no findings list)")
    found = []
    for f in data["findings"]:
        severity = _severity(f["severity"])
        found.append(
            Finding(
                str(f["test_id"]),
                severity,
                str(f["confidence"]),
                str(f["path"]),
                int(f["line"]),
                str(f["code"]),
                str(f["text"]),
            )
        )
    return found


def new_findings(
    candidate: list[Finding], champion: list[Finding] | None, level: Severity
) -> list[Finding]:
    """The candidate's findings at ``level`` or above that the champion's scan lacks; with
    no champion scan, every one of them (nothing vouches for them)."""
    known = {f.key for f in champion or []}
    return [f for f in candidate if f.at_least(level) and f.key not in known]


def security_gate(
    candidate: list[Finding], champion: list[Finding] | None, level: Severity
) -> GateResult:
    """Fails when the candidate's code has a finding at ``level`` or above that the
    champion's did not. Candidate and champion are counts at that level."""
    new = new_findings(candidate, champion, level)
    own = sum(f.at_least(level) for f in candidate)
    before = None if champion is None else sum(f.at_least(level) for f in champion)
    shown = "; ".join(f.summary() for f in new[:5]) + ("; ..." if len(new) > 5 else "")
    detail = (
        f"{len(new)} new Bandit finding(s) at {level} or above: {shown}"
        if new
        else ""
        if champion is not None
        else "no scan stored with the champion: every finding counts as new"
    )
    return GateResult(GATE_NAME, before, own, len(new), 0, not new, None, detail)
