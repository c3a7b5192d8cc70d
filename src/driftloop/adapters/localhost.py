"""The local repo host: the embedded default, keeping records under ``<root>/.driftloop/``.

Dispatches are JSON records; an optional ``runner`` runs the retrain at once (the demo runs
retrain -> gate -> propose exactly as retrain.yml would) and marks the record completed.
Without a runner a dispatch stays ``queued``, which, like a queued GitHub run, blocks another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from driftloop.adapters.repohost import RepoHost
from driftloop.errors import DataError
from driftloop.policy.signals import Dispatch, History

__all__ = ["LocalRepoHost", "Runner"]

Runner = Callable[[dict[str, Any]], None]
ACTIVE = ("queued", "in_progress")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


class LocalRepoHost(RepoHost):
    def __init__(self, root: Path, runner: Runner | None = None) -> None:
        self.root = root
        self.state = root / ".driftloop"
        self.runner = runner

    def _records(self, kind: str) -> list[dict[str, Any]]:
        folder = self.state / kind
        if not folder.is_dir():
            return []
        records = []
        for path in sorted(folder.glob("*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError as error:
                raise DataError(f"{path}: corrupt record: {error}") from None
        return records

    def dispatches(self, model: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self._records("dispatches") if model is None or r["model"] == model]

    def retrain_history(self, model: str, now: datetime) -> History:
        records = [
            r for r in self.dispatches(model) if datetime.fromisoformat(r["dispatched_at"]) <= now
        ]
        dispatches = tuple(
            Dispatch(
                datetime.fromisoformat(r["dispatched_at"]), r["trigger_id"], bool(r.get("manual"))
            )
            for r in records
        )
        active = next((r["trigger_id"] for r in records if r.get("status") in ACTIVE), None)
        open_pr = next(
            (
                f"#{p['number']}"
                for p in self._records("pulls")
                if p.get("model") == model and p.get("state") == "open"
            ),
            None,
        )
        return History(dispatches, open_pr, active)

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        path = self.state / "dispatches" / f"{trigger_id}.json"
        if path.exists():  # look before you dispatch: the same episode never twice
            return str(path)
        record = {
            "model": model,
            "reason": reason,
            "trigger_id": trigger_id,
            "evidence": evidence,
            "dispatched_at": now.isoformat(),
            "manual": manual,
            "status": "queued",
        }
        _write_json(path, record)
        if self.runner is not None:
            record["status"] = "in_progress"
            _write_json(path, record)
            try:
                self.runner(record)
                record["status"] = "completed"
            except Exception:
                record["status"] = "failed"
                raise
            finally:
                _write_json(path, record)
        return str(path)
