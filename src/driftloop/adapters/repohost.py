"""The repository host interface: dispatching retrains, and (issue #6) PRs and issues."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from driftloop.policy.signals import History

__all__ = ["MAX_EVIDENCE_CHARS", "RepoHost", "compact_evidence"]

# GitHub allows 65,535 characters per workflow_dispatch input; stay far below it so the
# dispatch never fails on size, keeping the most useful part (top features first).
MAX_EVIDENCE_CHARS = 4000


def compact_evidence(evidence: dict[str, Any]) -> str:
    text = json.dumps(evidence, separators=(",", ":"), sort_keys=True, default=str)
    if len(text) <= MAX_EVIDENCE_CHARS:
        return text
    trimmed: dict[str, Any] = {
        k: evidence[k] for k in ("window", "since", "critical_fraction") if k in evidence
    }
    trimmed["top_features"] = evidence.get("top_features", [])[:3]
    return json.dumps(trimmed, separators=(",", ":"), sort_keys=True, default=str)[
        :MAX_EVIDENCE_CHARS
    ]


class RepoHost(Protocol):
    def retrain_history(self, model: str, now: datetime) -> History:
        """Dispatches up to ``now``, an open driftloop PR, a queued or running retrain."""
        ...

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        """Start the retrain workflow; returns where to look (run URL or record path)."""
        ...
