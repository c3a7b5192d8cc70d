"""The local repo host: the embedded default, on a real git repository at ``root``.

Branches and commits are real git objects (made with plumbing: the working tree is never
touched); pull requests, reviews, issues and dispatches are records under
``<root>/.driftloop/`` (JSON, with the markdown body beside it). ``driftloop pulls`` lists,
shows, reviews and merges them; like a protected GitHub branch, a merge needs an approval
of the pull request's current head (``--force`` is an admin bypassing that, and `promote`
still refuses the result). Reviews carry the commit they were given on, so a later push
leaves them stale. ``.driftloop/teams.json`` (``{"org/team": ["login", ...]}``) stands in
for GitHub teams named in CODEOWNERS. Dispatches: an optional ``runner`` runs the retrain at once
(the demo runs retrain -> gate -> propose exactly as retrain.yml would) and marks the record
completed; without one a dispatch stays ``queued``, which, like a queued GitHub run, blocks
another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftloop.adapters.git import Git
from driftloop.adapters.repohost import Edits, Issue, PullRequest, Push, RepoHost
from driftloop.errors import ConfigError, DataError, UpstreamError, UsageError
from driftloop.gitops.approval import Review, judge_reviews
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

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        return {model: self.retrain_history(model, now) for model in models}

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

    def _head(self, record: dict[str, Any]) -> str:
        """An open pull request's head is its branch as it is now (anyone may push to it);
        a merged one's is what was merged."""
        if record.get("merged"):
            return str(record.get("head", ""))
        return self.git.head(record["branch"]) or str(record.get("head", ""))

    def _pull(self, record: dict[str, Any]) -> PullRequest:
        merged_at = record.get("merged_at")
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
            head_sha=self._head(record),
            head_repo=str(self.root),
            base_repo=str(self.root),
            base_branch=record.get("base", ""),
            merged_at=datetime.fromisoformat(merged_at) if merged_at else None,
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
        for record in self.pulls():  # a rerun finds its pull request, as on GitHub
            if record["branch"] == branch and record["state"] == "open":
                return self.update_pull(self._pull(record), title, body, files, message)
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
            "reviews": [],
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
        record.update(title=title, head=self._commit(pull.branch, parent, files, message))
        self._save("pulls", record, body)
        return self._pull(record)

    def pull_record(self, number: int) -> dict[str, Any]:
        record = next((r for r in self.pulls() if r["number"] == number), None)
        if record is None:
            raise UsageError(f"no pull request #{number} in {self.state / 'pulls'}")
        return record

    def review(self, number: int, reviewer: str, state: str = "APPROVED") -> None:
        """Record a review of the pull request's current head (as GitHub binds a review to
        the commit it was given on)."""
        record = self.pull_record(number)
        _check_login(reviewer)
        if reviewer == record["author"] and state == "APPROVED":
            raise UsageError("the author of a pull request cannot approve it")
        review = {
            "user": reviewer,
            "state": state,
            "commit_id": self._head(record),
            "submitted_at": datetime.now(UTC).isoformat(),
        }
        record["reviews"] = [*record.get("reviews", []), review]
        self._save("pulls", record)

    def approve(self, number: int, reviewer: str) -> None:
        self.review(number, reviewer, "APPROVED")

    def current_approvers(self, number: int) -> tuple[str, ...]:
        """Who approved the head as it is now (what a protected branch would accept)."""
        pull = self._pull(self.pull_record(number))
        return judge_reviews(
            self.reviews(pull), author=pull.author, head_sha=pull.head_sha, merged_at=None,
            pushers=self.pushers(pull),
        ).approvers  # fmt: skip

    def merge(self, number: int, merged_by: str, force: bool = False) -> PullRequest:
        record = self.pull_record(number)
        _check_login(merged_by)
        if record["state"] != "open":
            raise UsageError(f"pull request #{number} is {_state(record)}, not open")
        if not force and not self.current_approvers(number):
            raise UsageError(
                f"#{number} has no approval of its head {self._head(record)[:12]} by someone "
                "other than its author: approve it first (--force bypasses this as an admin "
                "would, and promote still refuses the result)"
            )
        head = self._head(record)
        commit = self.git.merge(
            record["branch"], record["base"], f"Merge pull request #{number}: {record['title']}"
        )
        record.update(
            state="closed",
            merged=True,
            merged_by=merged_by,
            merge_commit=commit,
            head=head,
            merged_at=datetime.now(UTC).isoformat(),
        )
        self._save("pulls", record)
        return self._pull(record)

    def find_open_issue(self, model: str, kind: str = "gate-failed") -> Issue | None:
        for record in self._records("issues"):
            if (
                record["model"] == model
                and record["state"] == "open"
                and kind in record.get("labels", [kind])
            ):
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

    # ---- what promote judges a merge by -----------------------------------------------------
    def resolve(self, ref: str) -> str:
        try:
            return self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except UpstreamError:
            raise UsageError(f"{ref!r} is not a commit or branch of {self.root}") from None

    def parents(self, commit: str) -> list[str]:
        return self.git.run("rev-list", "--parents", "-n", "1", commit).split()[1:]

    def read_file_or_none(self, path: str, ref: str) -> str | None:
        try:
            return self.git.read(path, ref)
        except ConfigError:
            return None

    def merged_pull(self, commit: str) -> PullRequest | None:
        for record in self.pulls():
            if record.get("merged") and record.get("merge_commit") == commit:
                return self._pull(record)
        return None

    def reviews(self, pull: PullRequest) -> list[Review]:
        return [
            Review(
                user=r["user"],
                state=r["state"],
                commit_id=r.get("commit_id"),
                submitted_at=datetime.fromisoformat(r["submitted_at"])
                if r.get("submitted_at")
                else None,
            )
            for r in self.pull_record(pull.number).get("reviews", [])
        ]

    def pushers(self, pull: PullRequest) -> set[str]:
        """Authors and committers (git names) of the commits the pull request brings."""
        base = pull.base_branch or self.default_branch
        if not pull.head_sha:
            return set()
        limit = f"{pull.merge_commit}^1" if pull.merge_commit else f"refs/heads/{base}"
        names = self.git.run("log", "--format=%an%n%cn", f"{limit}..{pull.head_sha}")
        return {name for name in names.splitlines() if name}

    # The local host keeps no record of who pushed: it reads git's own metadata, which whoever
    # has the folder can write. It is the demo's and the tests' host, not a security boundary.
    def pushes(self, branch: str, limit: int = 300) -> list[Push]:
        merges = {r.get("merge_commit"): r for r in self.pulls() if r.get("merged")}
        lines = self.git.run(
            "log", "--first-parent", f"-n{limit}", "--format=%H %P%x00%cn%x00%cI",
            f"refs/heads/{branch}",
        )  # fmt: skip
        found = []
        for line in lines.splitlines():
            shas, committer, stamp = line.split("\x00")
            commit, *parents = shas.split()
            merge = merges.get(commit)
            found.append(
                Push(
                    branch, parents[0] if parents else "", commit,
                    str(merge["merged_by"]) if merge else committer,
                    "pr_merge" if merge else "push", datetime.fromisoformat(stamp),
                )
            )  # fmt: skip
        return found

    def changed_files(self, before: str, after: str) -> list[str]:
        names = self.git.run("diff", "--name-only", "--no-renames", before, after)
        return sorted(name for name in names.splitlines() if name)

    def permission(self, login: str) -> str:
        """From .driftloop/permissions.json ({login: admin|write|read}) when it exists; without
        it everyone writes (a local checkout has no permission model)."""
        path = self.state / "permissions.json"
        if not path.is_file():
            return "write"
        try:
            permissions = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise DataError(f"{path}: corrupt record: {error}") from None
        return str(permissions.get(login, "none"))

    def team_can_push(self, team: str) -> bool:
        return team in self._teams()

    def _teams(self) -> dict[str, list[str]]:
        path = self.state / "teams.json"
        if not path.is_file():
            return {}
        try:
            teams = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise DataError(f"{path}: corrupt record: {error}") from None
        return dict(teams)

    def team_members(self, team: str) -> set[str]:
        return set(self._teams().get(team, []))


# A GitHub login (letters, digits, single hyphens; at most 39) or an App's "name[bot]".
_LOGIN = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:\[bot\])?$")


def _check_login(user: str) -> None:
    if not _LOGIN.match(user):
        raise UsageError(f"--as {user!r} is not a login (letters, digits and hyphens)")


def _state(record: dict[str, Any]) -> str:
    return "merged" if record.get("merged") else str(record["state"])
