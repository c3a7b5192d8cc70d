"""The gate report: every gate with champion, candidate, delta, threshold and verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["GateReport", "GateResult"]


@dataclass(frozen=True)
class GateResult:
    name: str
    champion: float | None
    candidate: float | None
    delta: float | None
    threshold: float | None
    passed: bool
    dataset: str | None = None
    detail: str = ""
    ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "champion": self.champion,
            "candidate": self.candidate,
            "delta": self.delta,
            "threshold": self.threshold,
            "passed": self.passed,
        }
        if self.dataset is not None:
            data["dataset"] = self.dataset
        if self.ci is not None:
            data["ci"] = list(self.ci)
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class GateReport:
    model: str
    candidate_version: str
    champion_version: str | None
    gates: list[GateResult]
    evaluation: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # sha256 of the candidate bundle's files as scored: propose pins it beside the version, so
    # the reviewed commit names the exact model, and promote signs only that
    candidate_digest: str | None = None

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)

    @property
    def mode(self) -> str:
        return "comparison" if self.champion_version is not None else "absolute_floors"

    @property
    def failed(self) -> list[GateResult]:
        return [gate for gate in self.gates if not gate.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "candidate_version": self.candidate_version,
            "champion_version": self.champion_version,
            "passed": self.passed,
            "mode": self.mode,
            "failed": list(dict.fromkeys(gate.name for gate in self.failed)),
            "gates": [gate.to_dict() for gate in self.gates],
            "evaluation": self.evaluation,
            "created_at": self.created_at,
            "candidate_digest": self.candidate_digest,
        }

    def to_markdown(self) -> str:
        def number(value: float | None) -> str:
            return "—" if value is None else f"{value:.4g}"

        champion = (
            f"v{self.champion_version}" if self.champion_version else "none (absolute floors)"
        )
        verdict = (
            "**passed**"
            if self.passed
            else f"**failed** ({', '.join(g.name for g in self.failed)})"
        )
        title = f"Gates for `{self.model}` v{self.candidate_version} vs champion {champion}"
        lines = [
            f"{title}: {verdict}",
            "",
            "| gate | dataset | champion | candidate | delta | CI of delta | threshold | result |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for gate in self.gates:
            ci = f"[{gate.ci[0]:.4g}, {gate.ci[1]:.4g}]" if gate.ci else "—"
            mark = "✅ pass" if gate.passed else "❌ fail"
            cells = [
                gate.name, gate.dataset or "—", number(gate.champion), number(gate.candidate),
                number(gate.delta), ci, number(gate.threshold), mark,
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        notes = [
            f"- **{g.name}** ({g.dataset or 'all'}): {g.detail}" for g in self.gates if g.detail
        ]
        if notes:
            lines += ["", *notes]
        return "\n".join(lines) + "\n"
