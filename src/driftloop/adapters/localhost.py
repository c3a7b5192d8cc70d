"""The local repo host: the embedded default, on a real git repository at ``root``.

Branches and commits are real git objects (made with plumbing: the working tree is never
touched); pull requests, reviews, issues and dispatches are records under
``<root>/.driftloop/`` (JSON, with the markdown body beside it). ``driftloop pulls`` lists,
shows, approves and merges them. Dispatches: an optional ``runner`` runs the retrain at once
(the demo runs retrain -> gate -> propose exactly as retrain.yml would) and marks the record
completed; without one a dispatch stays ``queued``, which, like a queued GitHub run, blocks
another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftloop.adapters.git import Git
from driftloop.adapters.repohost import Edits, Issue, PullRequest, RepoHost, proposal_marker
from driftloop.errors import DataError, UsageError
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

    # ---- proposals (git + records) ----------------------------------------------------------
    @property
    def git(self) -> Git:
        git = Git(self.root)
        if not git.is_repository():
            raise UsageError(f"{self.root} is not a git repository (the local repo host needs one)")
        return git

    @property
    def default_branch(self) -> str:
        return "main" if self.git.head("main") else self.git.current_branch()

    def read_file(self, path: str, ref: str) -> str:
        return self.git.read(path, ref)

    def _next_number(self) -> int:
        numbers = [r["number"] for kind in ("pulls", "issues") for r in self._records(kind)]
        return max(numbers, default=0) + 1

    def _save(self, kind: str, record: dict[str, Any], body: str | None = None) -> None:
        _write_json(self.state / kind / f"{record['number']}.json", record)
        if body is not None:
            (self.state / kind / f"{record['number']}.md").write_text(body, encoding="utf-8")

    def _pull(self, record: dict[str, Any]) -> PullRequest:
        return PullRequest(
            number=record["number"],
            url=str(self.state / "pulls" / f"{record['number']}.md"),
            branch=record["branch"],
            title=record["title"],
            state=record["state"],
            author=record["author"],
            merged=record.get("merged", False),
            merged_by=record.get("merged_by"),
            merge_commit=record.get("merge_commit"),
            approvals=tuple(record.get("approvals", [])),
        )

    def pulls(self) -> list[dict[str, Any]]:
        return self._records("pulls")

    def pull_body(self, number: int) -> str:
        return (self.state / "pulls" / f"{number}.md").read_text(encoding="utf-8")

    def find_open_pull(self, model: str) -> PullRequest | None:
        for record in self.pulls():
            if record["model"] == model and record["state"] == "open":
                return self._pull(record)
        return None

    def _commit(self, branch: str, parent: str, files: Edits, message: str) -> str:
        edited = {path: edit(self.git.read(path, parent)) for path, edit in files.items()}
        return self.git.commit_on_branch(branch, parent, edited, message)

    def open_pull(
        self,
        model: str,
        branch: str,
        title: str,
        body: str,
        files: Edits,
        message: str,
        labels: list[str],
        reviewers: list[str],
    ) -> PullRequest:
        base = self.default_branch
        parent = self.git.head(branch) or self.git.run("rev-parse", f"refs/heads/{base}").strip()
        commit = self._commit(branch, parent, files, message)
        record = {
            "number": self._next_number(),
            "model": model,
            "branch": branch,
            "base": base,
            "title": title,
            "state": "open",
            "author": "driftloop",
            "labels": labels,
            "reviewers": reviewers,
            "head": commit,
            "approvals": [],
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._save("pulls", record, body)
        return self._pull(record)

    def update_pull(
        self, pull: PullRequest, title: str, body: str, files: Edits, message: str
    ) -> PullRequest:
        record = next(r for r in self.pulls() if r["number"] == pull.number)
        parent = (
            self.git.head(pull.branch)
            or self.git.run("rev-parse", f"refs/heads/{record['base']}").strip()
        )
        record.update(
            title=title, head=self._commit(pull.branch, parent, files, message), approvals=[]
        )
        self._save("pulls", record, body)
        return self._pull(record)

    def approve(self, number: int, reviewer: str) -> None:
        record = next((r for r in self.pulls() if r["number"] == number), None)
        if record is None:
            raise UsageError(f"no pull request #{number}")
        if reviewer == record["author"]:
            raise UsageError("the author of a pull request cannot approve it")
        record["approvals"] = sorted({*record.get("approvals", []), reviewer})
        self._save("pulls", record)

    def merge(self, number: int, merged_by: str) -> PullRequest:
        record = next((r for r in self.pulls() if r["number"] == number), None)
        if record is None or record["state"] != "open":
            raise UsageError(f"no open pull request #{number}")
        commit = self.git.merge(
            record["branch"], record["base"], f"Merge pull request #{number}: {record['title']}"
        )
        record.update(
            state="closed",
            merged=True,
            merged_by=merged_by,
            merge_commit=commit,
            merged_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._save("pulls", record)
        return self._pull(record)

    def find_open_issue(self, model: str) -> Issue | None:
        for record in self._records("issues"):
            if record["model"] == model and record["state"] == "open":
                return Issue(
                    record["number"],
                    str(self.state / "issues" / f"{record['number']}.md"),
                    record["title"],
                )
        return None

    def open_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        model = next((label.split(":", 1)[1] for label in labels if label.startswith("model:")), "")
        number = self._next_number()
        record = {
            "number": number,
            "model": model,
            "title": title,
            "labels": labels,
            "state": "open",
            "comments": [],
        }
        self._save("issues", record, body)
        return Issue(number, str(self.state / "issues" / f"{number}.md"), title)

    def comment(self, issue: Issue, body: str) -> None:
        record = next(r for r in self._records("issues") if r["number"] == issue.number)
        record["comments"] = [*record["comments"], body]
        self._save("issues", record)

    def merged_pull_for(self, model: str, version: str) -> PullRequest | None:
        marker = proposal_marker(model, version)
        for record in sorted(self.pulls(), key=lambda r: -r["number"]):
            if (
                record["model"] == model
                and record.get("merged")
                and marker in self.pull_body(record["number"])
            ):
                return self._pull(record)
        return None
