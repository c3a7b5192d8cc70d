"""A local, stateful GitHub REST server for tests, validating every request and response
against GitHub's OpenAPI description (tests/contract/github-openapi.json, slimmed from
@octokit/openapi by scripts/slim_github_openapi.py).

It keeps one repository as GitHub does: commits with parents and file snapshots, branches
pointing at them, pull requests (also from forks) whose head follows their branch, reviews
bound to the commit they were given on (a later push leaves them where they were; reviews
after a merge are possible), merges as merge, squash or rebase commits, issues, comments,
labels, the retrain workflow with its dispatches and runs (listed only after a configurable
delay, as GitHub's are), branch protection, rulesets, environments and secrets. Tests inject
faults (a 5xx after the write happened, a rate limit with Retry-After, ...) and read
``contract_errors``, which must stay empty: a request PyGithub sends that GitHub would
reject, or an answer GitHub would never give, fails the test that caused it.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from tests.support.github_records import BOT, LINK, GitRecords, git_sha
from tests.support.github_settings import RepositorySettings
from tests.support.schema_instances import Instances

SPEC = Path(__file__).resolve().parents[1] / "contract/github-openapi.json"
JSON = dict[str, Any]


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    after_write: bool = False  # perform the operation, then fail (a lost response)
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_sha = git_sha


def _merge_lines(base: str, ours: str, theirs: str, path: str) -> str:
    lines = [text.splitlines(keepends=True) for text in (base, ours, theirs)]
    if len({len(side) for side in lines}) != 1:
        raise AssertionError(f"merge conflict in {path} (the fake merges same-length edits only)")
    out = []
    for b, o, t in zip(*lines, strict=True):
        if b not in (o, t) and o != t:
            raise AssertionError(f"merge conflict in {path}: {o!r} / {t!r}")
        out.append(t if t != b else o)
    return "".join(out)


class FakeGitHub(GitRecords, RepositorySettings):
    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - the fake server's own test token
        owner: str = "acme",
        repo: str = "models",
    ) -> None:
        self.token = token
        # a GitHub App that may exchange a JWT for ``token`` (tests set the public key)
        self.app_id, self.installation_id, self.app_public_key = 0, 0, b""
        self.app_token_requests = 0
        self.owner, self.repo = owner, repo
        self.lock = threading.RLock()
        self.spec = json.loads(SPEC.read_text())
        self.instances = Instances(self.spec)
        self.base = ""
        self.openapi: OpenAPI | None = None
        root = _sha("root")
        self.commits: dict[str, JSON] = {
            root: {"parents": [], "files": {}, "author": owner, "committer": owner, "message": "root"}
        }  # fmt: skip
        self.heads: dict[str, str] = {"main": root}
        self.fork_heads: dict[tuple[str, str], str] = {}  # (fork owner, branch) -> sha
        self.pulls: dict[int, JSON] = {}
        self.issues: dict[int, JSON] = {}
        self.reviews: dict[int, list[JSON]] = {}
        self.comments: list[JSON] = []
        self.dispatches: list[JSON] = []
        self.runs: list[JSON] = []
        self.run_list_delay = 0.0  # seconds before a new run shows in listings
        self.workflows = {"retrain.yml": 1001}
        self.protection: JSON | None = None
        self.rules: list[JSON] = []  # active rules on main, from rulesets
        self.rulesets: dict[int, JSON] = {}
        self.environments: dict[str, JSON] = {}
        self.branch_policies: dict[str, list[JSON]] = {}
        self.repo_secrets: list[str] = []
        self.environment_secrets: dict[str, list[str]] = {}
        self.teams: dict[str, list[str]] = {}  # "org/slug" -> logins
        # base roles on the repository (everyone else: write) and teams' access (default push)
        self.permissions: dict[str, str] = {}
        self.team_access: dict[str, str] = {}
        # what GitHub records of every branch update (the repository activity API), oldest
        # first; ``activity_visible = False`` answers 403 as a token without access would
        self.activity: list[JSON] = []
        self.activity_visible = True
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, str]] = []
        self.contract_errors: list[str] = []
        self.numbers = itertools.count(1)
        self.ids = itertools.count(100)
        self._clock = datetime.now(UTC).replace(microsecond=0)

    # ---- time and commits ----------------------------------------------------------------
    def tick(self) -> str:
        """A timestamp strictly after the previous one (GitHub's have one-second resolution:
        a review and the merge right after it must still be ordered)."""
        with self.lock:
            self._clock = max(
                datetime.now(UTC).replace(microsecond=0), self._clock + timedelta(seconds=1)
            )
            return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def branches(self) -> dict[str, dict[str, str]]:
        """Each branch's files (read-only snapshots; write through push or the API)."""
        return {branch: dict(self.commits[sha]["files"]) for branch, sha in self.heads.items()}

    def _commit(self, parents: list[str], files: dict[str, str], author: str, message: str) -> str:
        sha = _sha(
            *parents, json.dumps(files, sort_keys=True), author, message, str(len(self.commits))
        )
        self.commits[sha] = {"parents": parents, "files": files, "author": author, "committer": author,
                             "message": message}  # fmt: skip
        return sha

    def push(self, branch: str, files: dict[str, str], author: str | None = None,
             message: str = "push", actor: str | None = None) -> str:  # fmt: skip
        """A commit on ``branch`` as someone with write access pushes it with git: the commit
        says ``author`` wrote it (anyone can write any name there); GitHub records ``actor``
        (default: the author) as who pushed."""
        with self.lock:
            parent = self.heads[branch]
            snapshot = {**self.commits[parent]["files"], **files}
            self.heads[branch] = self._commit([parent], snapshot, author or self.owner, message)
            self._record(branch, parent, self.heads[branch], actor or author or self.owner)
            return self.heads[branch]

    def _record(self, branch: str, before: str, after: str, actor: str, kind: str = "push") -> None:
        self.activity.append({"branch": branch, "before": before, "after": after,
                              "actor": actor, "kind": kind, "at": self.tick()})  # fmt: skip

    def add_file(self, path: str, text: str, branch: str = "main") -> None:
        self.push(branch, {path: text}, message=f"add {path}")

    def create_branch(self, branch: str, source: str = "main", actor: str | None = None) -> None:
        self.heads[branch] = self.heads[source]
        self._record(branch, "0" * 40, self.heads[branch], actor or self.owner, "branch_creation")

    def ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += self.commits[current]["parents"]
        return seen

    def fail(self, method: str, pattern: str, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(method.upper(), pattern, status, **kwargs))

    # ---- people's actions on github.com ----------------------------------------------------
    def add_review(
        self,
        number: int,
        login: str,
        state: str = "APPROVED",
        commit_id: str | None = None,
        submitted_at: str | None = None,
        user_type: str = "User",
    ) -> JSON:
        """A review of the pull request's head as it is now (or of ``commit_id``)."""
        with self.lock:
            review = self.instances.of(
                "pull-request-review",
                id=next(self.ids),
                user={**self._user(login), "type": user_type},
                state=state,
                body="",
                commit_id=commit_id or self._head_sha(self.pulls[number]),
                submitted_at=submitted_at or self.tick(),
                html_url=f"{self.base}/pr/{number}#review",
                pull_request_url=f"{self._repo_url()}/pulls/{number}",
            )
            self.reviews.setdefault(number, []).append(review)
            return review

    def dismiss_reviews(self, number: int) -> None:
        """What 'dismiss stale approvals' does on a push: approvals become DISMISSED."""
        for review in self.reviews.get(number, []):
            if review["state"] == "APPROVED":
                review["state"] = "DISMISSED"

    def _merged_files(self, main: str, head: str) -> dict[str, str]:
        """A three-way merge of file snapshots, line by line where both sides changed a file
        (as git does for edits on different lines; a real conflict fails the test)."""
        common = self.ancestors(main) & self.ancestors(head)
        base = next((c for c in self._walk(head) if c in common), None)
        base_files = self.commits[base]["files"] if base else {}
        merged = dict(self.commits[main]["files"])
        head_files = self.commits[head]["files"]
        for path in set(base_files) | set(head_files):
            before, theirs = base_files.get(path), head_files.get(path)
            if theirs == before:
                continue
            ours = merged.get(path)
            if ours in (before, theirs):
                if theirs is None:
                    merged.pop(path, None)
                else:
                    merged[path] = theirs
            else:
                merged[path] = _merge_lines(before or "", ours or "", theirs or "", path)
        return merged

    def _walk(self, sha: str) -> Iterator[str]:
        queue, seen = [sha], set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            yield current
            queue += self.commits[current]["parents"]

    def merge(
        self, number: int, by: str = "maintainer", method: str = "merge", sha: str | None = None
    ) -> str:
        """Merge a pull request into main as github.com does (merge, squash or rebase);
        ``sha`` names the merge commit (a test that also has it in a local clone)."""
        with self.lock:
            pull = self.pulls[number]
            head = self._head_sha(pull)
            main = self.heads["main"]
            files = self._merged_files(main, head)
            parents = [main, head] if method == "merge" else [main]
            message = f"Merge pull request #{number}" if method == "merge" else pull["title"]
            if method == "rebase":  # each commit of the pull request replayed onto main
                made = self._rebased(main, head)
            else:
                made = self._commit(
                    parents, files, "web-flow" if method == "merge" else by, message
                )
            if sha is not None:
                self.commits[sha] = self.commits.pop(made)
            else:
                sha = made
            self.heads["main"] = sha
            self._record("main", main, sha, by, "pr_merge")
            when = self.tick()
            pull["head"]["sha"] = head
            pull.update(state="closed", merged=True, merged_at=when, closed_at=when,
                        merge_commit_sha=sha, merged_by=self._user(by))  # fmt: skip
            self.issues[number]["state"] = "closed"
            return sha

    def _rebased(self, main: str, head: str) -> str:
        """Replay the commits ``head`` has and ``main`` lacks (oldest first) onto ``main``,
        each with its own author, as GitHub's rebase merge does."""
        mine = self.ancestors(main)
        path = []
        for current in self._walk(head):
            if current in mine:
                break
            path.append(current)
        tip = main
        for commit in reversed(path):
            data = self.commits[commit]
            parent = data["parents"][0]
            before = self.commits[parent]["files"]
            files = dict(self.commits[tip]["files"])
            for name in set(before) | set(data["files"]):
                if data["files"].get(name) != before.get(name):
                    if name in data["files"]:
                        files[name] = data["files"][name]
                    else:
                        files.pop(name, None)
            tip = self._commit([tip], files, data["author"], data["message"])
            self.commits[tip]["committer"] = "web-flow"
        return tip

    def open_fork_pull(self, fork_owner: str, branch: str, files: dict[str, str],
                       title: str = "Deploy churn") -> int:  # fmt: skip
        """A pull request from ``fork_owner``'s fork, as its owner opens it on github.com."""
        with self.lock:
            main = self.heads["main"]
            snapshot = {**self.commits[main]["files"], **files}
            self.fork_heads[(fork_owner, branch)] = self._commit(
                [main], snapshot, fork_owner, title
            )
            pull = self._new_pull(title, "", fork_owner, branch, fork_owner)
            return int(pull["number"])

    def finish_runs(self, conclusion: str = "success") -> None:
        for run in self.runs:
            run.update(status="completed", conclusion=conclusion)

    # ---- objects -------------------------------------------------------------------------
    def _repo_url(self) -> str:
        return f"{self.base}/repos/{self.owner}/{self.repo}"

    def _user(self, login: str) -> JSON:
        kind = "Bot" if login.endswith("[bot]") else "User"
        return self.instances.of("simple-user", login=login, id=abs(hash(login)) % 10**6, type=kind,
                                 url=f"{self.base}/users/{login}")  # fmt: skip

    def _repository(self, owner: str | None = None) -> JSON:
        owner = owner or self.owner
        return self.instances.of(
            "full-repository",
            id=1 if owner == self.owner else 2, name=self.repo, full_name=f"{owner}/{self.repo}",
            owner=self._user(owner), url=f"{self.base}/repos/{owner}/{self.repo}",
            html_url=f"https://github.invalid/{owner}/{self.repo}", default_branch="main", private=True, fork=owner != self.owner,
            permissions={"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        )  # fmt: skip

    def _branch_ref(self, branch: str, owner: str | None = None) -> JSON:
        owner = owner or self.owner
        sha = (
            self.heads.get(branch, "") if owner == self.owner else self.fork_heads[(owner, branch)]
        )
        return {"label": f"{owner}:{branch}", "ref": branch, "sha": sha,
                "user": self._user(owner), "repo": self._repository(owner)}  # fmt: skip

    def _head_sha(self, pull: JSON) -> str:
        """An open pull request's head follows its branch; a merged one keeps what merged."""
        if pull["state"] != "open":
            return str(pull["head"]["sha"])
        owner = pull["head"]["user"]["login"]
        ref = pull["head"]["ref"]
        return self.heads.get(ref, "") if owner == self.owner else self.fork_heads[(owner, ref)]

    def _current(self, pull: JSON) -> JSON:
        pull["head"]["sha"] = self._head_sha(pull)
        return pull

    def _labels(self, names: list[str]) -> list[JSON]:
        return [self.instances.of("label", id=abs(hash(n)) % 10**6, name=n, url=f"{self._repo_url()}/labels/{n}")
                for n in names]  # fmt: skip

    def _issue(self, number: int) -> JSON:
        return self.issues[number]

    def _commit_object(self, sha: str) -> JSON:
        data = self.commits[sha]
        people = {
            k: None if data[k] == "nobody" else self._user(data[k]) for k in ("author", "committer")
        }
        return self.instances.of(
            "commit", sha=sha, url=f"{self._repo_url()}/commits/{sha}", html_url=f"https://github.invalid/commit/{sha}",
            comments_url=f"{self._repo_url()}/commits/{sha}/comments",
            parents=[{"sha": p, "url": f"{self._repo_url()}/commits/{p}"} for p in data["parents"]],
            commit={"url": f"{self._repo_url()}/git/commits/{sha}", "message": data["message"], "comment_count": 0,
                    "author": {"name": data["author"], "email": f"{data['author']}@users.noreply.invalid", "date": _now()},
                    "committer": {"name": data["committer"], "email": f"{data['committer']}@users.noreply.invalid", "date": _now()},
                    "tree": {"sha": _sha("tree", sha), "url": f"{self._repo_url()}/git/trees/x"}},
            **people,
        )  # fmt: skip

    # ---- routing ---------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        r = rf"/repos/{self.owner}/{self.repo}"
        return [
            ("GET", rf"{r}", self.get_repo),
            ("GET", rf"{r}/actions/workflows/(?P<workflow>[^/]+)", self.get_workflow),
            ("POST", rf"{r}/actions/workflows/(?P<workflow>[^/]+)/dispatches", self.dispatch),
            ("GET", rf"{r}/actions/workflows/(?P<workflow>[^/]+)/runs", self.list_runs),
            ("GET", rf"{r}/actions/secrets", self.list_repo_secrets),
            ("GET", rf"{r}/pulls", self.list_pulls),
            ("POST", rf"{r}/pulls", self.create_pull),
            ("GET", rf"{r}/pulls/(?P<number>\d+)", self.get_pull),
            ("PATCH", rf"{r}/pulls/(?P<number>\d+)", self.edit_pull),
            ("GET", rf"{r}/pulls/(?P<number>\d+)/reviews", self.list_reviews),
            ("GET", rf"{r}/pulls/(?P<number>\d+)/commits", self.list_pull_commits),
            ("POST", rf"{r}/pulls/(?P<number>\d+)/requested_reviewers", self.request_reviewers),
            ("GET", rf"{r}/issues", self.list_issues),
            ("POST", rf"{r}/issues", self.create_issue),
            ("GET", rf"{r}/issues/(?P<number>\d+)", self.get_issue),
            ("PATCH", rf"{r}/issues/(?P<number>\d+)", self.edit_issue),
            ("GET", rf"{r}/issues/(?P<number>\d+)/comments", self.list_comments),
            ("POST", rf"{r}/issues/(?P<number>\d+)/comments", self.comment),
            ("POST", rf"{r}/issues/(?P<number>\d+)/labels", self.add_labels),
            ("GET", rf"{r}/git/ref/(?P<ref>.+)", self.get_ref),
            ("POST", rf"{r}/git/refs", self.create_ref),
            ("GET", rf"{r}/contents/(?P<path>.+)", self.get_contents),
            ("PUT", rf"{r}/contents/(?P<path>.+)", self.put_contents),
            ("GET", rf"{r}/commits/(?P<sha>[0-9a-f]{{40}})/pulls", self.commit_pulls),
            ("GET", rf"{r}/commits/(?P<ref>[^/]+)", self.get_commit),
            ("GET", rf"{r}/branches/(?P<branch>[^/]+)", self.get_branch),
            ("GET", rf"{r}/branches/(?P<branch>[^/]+)/protection", self.get_protection),
            ("GET", rf"{r}/rules/branches/(?P<branch>[^/]+)", self.branch_rules),
            ("GET", rf"{r}/rulesets/(?P<ruleset>\d+)", self.get_ruleset),
            ("GET", rf"{r}/environments/(?P<name>[^/]+)", self.get_environment),
            ("GET", rf"{r}/environments/(?P<name>[^/]+)/deployment-branch-policies", self.list_branch_policies),
            ("GET", rf"{r}/environments/(?P<name>[^/]+)/secrets", self.list_environment_secrets),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/members", self.team_members),
            ("GET", rf"{r}/activity", self.list_activity),
            ("GET", rf"{r}/compare/(?P<base>[0-9a-f]{{40}})\.\.\.(?P<head>[0-9a-f]{{40}})", self.compare),
            ("GET", rf"{r}/collaborators/(?P<login>[^/]+)/permission", self.collaborator_permission),
            ("GET", rf"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/repos/{self.owner}/{self.repo}", self.team_repo),
        ]  # fmt: skip

    def get_repo(self, **_: Any) -> tuple[int, Any]:
        return 200, self._repository()

    def get_workflow(self, workflow: str, **_: Any) -> tuple[int, Any]:
        workflow_id = self.workflows.get(workflow) or (
            int(workflow) if workflow.isdigit() else None
        )
        if workflow_id not in self.workflows.values():
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com"}
        return 200, self.instances.of(
            "workflow", id=workflow_id, name="retrain", path=".github/workflows/retrain.yml", state="active",
            url=f"{self._repo_url()}/actions/workflows/{workflow_id}",
        )  # fmt: skip

    def dispatch(self, workflow: str, body: JSON, **_: Any) -> tuple[int, Any]:
        status, _workflow = self.get_workflow(workflow)
        if status != 200:
            return status, _workflow
        inputs = body.get("inputs", {})
        self.dispatches.append({"ref": body["ref"], "inputs": inputs})
        self.add_run(inputs.get("model", ""), inputs.get("trigger_id", ""), ref=body["ref"])
        return 204, None

    def add_run(
        self, model: str, trigger_id: str, created_at: str | None = None, status: str = "queued",
        ref: str = "main",
    ) -> None:  # fmt: skip
        """A run of retrain.yml, as a dispatch creates it (``created_at`` for older history)."""
        run_id = next(self.ids)
        done = status == "completed"
        self.runs.append(self.instances.of(
            "workflow-run", id=run_id, name="retrain", display_title=f"retrain {model} ({trigger_id})",
            status=status, conclusion="success" if done else None,
            event="workflow_dispatch", head_branch=ref, workflow_id=self.workflows["retrain.yml"],
            url=f"{self._repo_url()}/actions/runs/{run_id}", created_at=created_at or _now(),
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/actions/runs/{run_id}",
        ) | {"_listed_after": time.monotonic() + self.run_list_delay})  # fmt: skip

    def list_runs(self, workflow: str, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        """Newest first, filtered by ``status`` and ``created`` (``>=<ISO time>``), one page of
        ``per_page`` (GitHub's default 30) with a ``link: rel="next"`` header while more are
        left, as GitHub pages its lists."""
        now = time.monotonic()
        since = query.get("created", "").removeprefix(">=")
        runs = [
            {k: v for k, v in r.items() if k != "_listed_after"} for r in reversed(self.runs)
            if r["_listed_after"] <= now and ("status" not in query or r["status"] == query["status"])
            and (not since or r["created_at"] >= since)
        ]  # fmt: skip
        size, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        answer = {"total_count": len(runs), "workflow_runs": runs[(page - 1) * size : page * size]}
        if page * size < len(runs):
            rest = urlencode({**query, "page": page + 1})
            url = f"{self._repo_url()}/actions/workflows/{workflow}/runs?{rest}"
            answer[LINK] = f'<{url}>; rel="next"'
        return 200, answer

    def list_pulls(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        found = [
            self._current(p) for p in self.pulls.values()
            if (state == "all" or p["state"] == state)
            and ("head" not in query or p["head"]["label"] == query["head"])
            and ("base" not in query or p["base"]["ref"] == query["base"])
        ]  # fmt: skip
        return 200, sorted(found, key=lambda p: -p["number"])

    def _new_pull(self, title: str, body: str | None, author: str, head: str,
                  head_owner: str | None = None) -> JSON:  # fmt: skip
        number = next(self.numbers)
        url = f"{self._repo_url()}/pulls/{number}"
        pull = self.instances.of(
            "pull-request", id=next(self.ids), number=number, state="open", title=title,
            body=body, user=self._user(author), head=self._branch_ref(head, head_owner),
            base=self._branch_ref("main"), url=url, html_url=f"https://github.invalid/{self.owner}/{self.repo}/pull/{number}",
            issue_url=f"{self._repo_url()}/issues/{number}", merged=False, merged_at=None, merge_commit_sha=None,
            labels=[], requested_reviewers=[], created_at=_now(), updated_at=_now(), draft=False,
        )  # fmt: skip
        self.pulls[number] = pull
        self.issues[number] = self._new_issue(number, title, body, [], pull_request=True)
        return pull

    def create_pull(self, body: JSON, **_: Any) -> tuple[int, Any]:
        head = body["head"].split(":")[-1]
        if head not in self.heads:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            }
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.values()):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": f"A pull request already exists for {self.owner}:{head}."}]}  # fmt: skip
        return 201, self._new_pull(body["title"], body.get("body"), BOT, head)

    def get_pull(self, number: str, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        return (200, self._current(pull)) if pull else (404, {"message": "Not Found"})

    def edit_pull(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        pull = self.pulls[int(number)]
        for key in ("title", "body", "state"):
            if key in body:
                pull[key] = body[key]
                if key in self.issues[int(number)]:
                    self.issues[int(number)][key] = body[key]
        pull["updated_at"] = _now()
        return 200, self._current(pull)

    def list_reviews(self, number: str, **_: Any) -> tuple[int, Any]:
        return 200, self.reviews.get(int(number), [])

    def list_pull_commits(self, number: str, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        head = self._head_sha(pull)
        base = pull["base"]["sha"]  # main when the pull request was opened
        ours = self.ancestors(base)
        found = [c for c in self._walk(head) if c not in ours]
        return 200, [self._commit_object(c) for c in reversed(found)]

    def request_reviewers(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        pull = self.pulls[int(number)]
        pull["requested_reviewers"] = [self._user(login) for login in body.get("reviewers", [])]
        return 201, self._current(pull)

    def _new_issue(
        self,
        number: int,
        title: str,
        body: str | None,
        labels: list[str],
        pull_request: bool = False,
    ) -> JSON:
        extra: JSON = {}
        if pull_request:
            extra["pull_request"] = {
                "url": f"{self._repo_url()}/pulls/{number}",
                "html_url": None,
                "diff_url": None,
                "patch_url": None,
            }
        return self.instances.of(
            "issue", id=next(self.ids), number=number, title=title, body=body, state="open",
            labels=self._labels(labels), user=self._user(BOT), url=f"{self._repo_url()}/issues/{number}",
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/issues/{number}", comments=0,
            created_at=_now(), updated_at=_now(), **extra,
        )  # fmt: skip

    def list_issues(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        wanted = [label for label in query.get("labels", "").split(",") if label]
        found = [
            i for i in self.issues.values()
            if (state == "all" or i["state"] == state)
            and all(label in {x["name"] for x in i["labels"]} for label in wanted)
        ]  # fmt: skip
        return 200, sorted(found, key=lambda i: -i["number"])

    def create_issue(self, body: JSON, **_: Any) -> tuple[int, Any]:
        number = next(self.numbers)
        labels = [
            label if isinstance(label, str) else label["name"] for label in body.get("labels", [])
        ]
        self.issues[number] = self._new_issue(number, body["title"], body.get("body"), labels)
        return 201, self.issues[number]

    def get_issue(self, number: str, **_: Any) -> tuple[int, Any]:
        issue = self.issues.get(int(number))
        return (200, issue) if issue else (404, {"message": "Not Found"})

    def edit_issue(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        issue = self.issues[int(number)]
        for key in ("title", "body", "state"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            names = [n if isinstance(n, str) else n["name"] for n in body["labels"]]
            issue["labels"] = self._labels(names)
            if int(number) in self.pulls:
                self.pulls[int(number)]["labels"] = issue["labels"]
        return 200, issue

    def _comment_object(self, number: int, body: str, comment_id: int) -> JSON:
        return self.instances.of(
            "issue-comment", id=comment_id, body=body, user=self._user(BOT),
            url=f"{self._repo_url()}/issues/comments/{comment_id}", issue_url=self.issues[number]["url"],
            created_at=_now(), updated_at=_now(),
        )  # fmt: skip

    def list_comments(self, number: str, **_: Any) -> tuple[int, Any]:
        if int(number) not in self.issues:
            return 404, {"message": "Not Found"}
        found = [c for c in self.comments if c["issue"] == int(number)]
        return 200, [self._comment_object(int(number), c["body"], c["id"]) for c in found]

    def comment(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        issue = self.issues[int(number)]
        issue["comments"] += 1
        comment_id = next(self.ids)
        self.comments.append({"issue": int(number), "body": body["body"], "id": comment_id})
        return 201, self._comment_object(int(number), body["body"], comment_id)

    def add_labels(self, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        names = body if isinstance(body, list) else body.get("labels", [])
        names = [n if isinstance(n, str) else n["name"] for n in names]
        issue = self.issues[int(number)]
        current = [label["name"] for label in issue["labels"]]
        issue["labels"] = self._labels(current + [n for n in names if n not in current])
        if int(number) in self.pulls:
            self.pulls[int(number)]["labels"] = issue["labels"]
        return 200, issue["labels"]

    def _installation_token(
        self, method: str, path: str, query: dict[str, str], auth: str, installation: int
    ) -> tuple[int, dict[str, str], bytes]:
        """A GitHub App exchanging its JWT (signed with its private key) for a token."""
        import jwt

        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.app_public_key, algorithms=["RS256"],
                                options={"verify_iat": False})  # fmt: skip
        except Exception:
            return self._reply(
                method, path, query, 401, {"message": "A JSON web token could not be decoded"}
            )
        if str(claims.get("iss")) != str(self.app_id) or installation != self.installation_id:
            return self._reply(method, path, query, 404, {"message": "Not Found"})
        self.app_token_requests += 1
        answer = self.instances.of(
            "installation-token", token=self.token, expires_at="2099-01-01T00:00:00Z"
        )
        return self._reply(method, path, query, 201, answer)

    # ---- HTTP ------------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], payload: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parsed = urlparse(raw_path)
        path = unquote(parsed.path)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.requests.append((method, raw_path, payload.decode(errors="replace")))
        self._validate_request(method, parsed.path, query, headers, payload)
        auth = headers.get("authorization", "")
        app_token = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if app_token and method == "POST":
            return self._installation_token(
                method, parsed.path, query, auth, int(app_token.group(1))
            )
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._reply(
                method,
                parsed.path,
                query,
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        fault = next(
            (f for f in self.faults if f.method == method and re.fullmatch(f.pattern, path)), None
        )
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            if not fault.after_write:
                return (
                    fault.status,
                    {"content-type": "application/json", **fault.headers},
                    b'{"message": "injected fault"}',
                )
        body = json.loads(payload) if payload else {}
        with self.lock:
            for route_method, pattern, handler in self.routes():
                match = re.fullmatch(pattern, path)
                if route_method == method and match:
                    status, answer = handler(**match.groupdict(), query=query, body=body)
                    break
            else:
                status, answer = 404, {"message": f"no route for {method} {path}"}
        if fault is not None:
            return (
                fault.status,
                {"content-type": "application/json", **fault.headers},
                b'{"message": "injected fault"}',
            )
        return self._reply(method, parsed.path, query, status, answer)

    def _mock_request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        payload: bytes | None,
    ) -> MockRequest:
        # GitHub's {path} and {ref} parameters hold slashes; as one URL segment they must be
        # percent-encoded for the path template to match.
        for marker in ("/contents/", "/git/ref/"):
            if marker in path:
                head, _, rest = path.partition(marker)
                path = head + marker + quote(unquote(rest), safe="")
        return MockRequest(self.base, method.lower(), path, args=query, data=payload or None,
                           headers=headers, content_type=headers.get("content-type", "application/json").split(";")[0])  # fmt: skip

    def _validate_request(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], payload: bytes
    ) -> None:
        assert self.openapi is not None
        try:
            self.openapi.validate_request(self._mock_request(method, path, query, headers, payload))
        except Exception as error:
            self.contract_errors.append(f"request {method} {path}: {_explain(error)}")

    def _reply(
        self, method: str, path: str, query: dict[str, str], status: int, answer: Any
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"content-type": "application/json"}
        if isinstance(answer, dict) and LINK in answer:
            headers["link"] = answer.pop(LINK)
            answer = answer.pop("__list__", answer)
        data = b"" if answer is None else json.dumps(answer).encode()
        assert self.openapi is not None
        if status < 400 or status == 404:  # error bodies are documented loosely; skip them
            response = MockResponse(data, status_code=status, content_type="application/json")
            try:
                self.openapi.validate_response(
                    self._mock_request(method, path, query, {}, None), response
                )
            except Exception as error:
                if status != 404:
                    self.contract_errors.append(
                        f"response {method} {path} {status}: {_explain(error)}"
                    )
        return status, headers, data


def _explain(error: BaseException) -> str:
    parts = [str(error)[:300]]
    cause = error.__cause__
    while cause is not None:
        parts += [
            getattr(e, "message", str(e))[:200] for e in getattr(cause, "schema_errors", [])[:3]
        ]
        cause = cause.__cause__
    return " | ".join(parts)


@contextmanager
def github_server(fake: FakeGitHub | None = None) -> Iterator[FakeGitHub]:
    fake = fake or FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            payload = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, data = fake.handle(self.command, self.path, headers, payload)
            self.send_response(status)
            for key, value in out_headers.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    spec = json.loads(SPEC.read_text())
    spec["servers"] = [{"url": fake.base}]
    fake.openapi = OpenAPI.from_dict(spec)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def app_credentials(fake: FakeGitHub) -> dict[str, str]:
    """A GitHub App's key for ``fake``: the files of the driftloop-github-app Secret."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.app_id, fake.installation_id = 4242, 77
    fake.app_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {"app-id": "4242\n", "installation-id": "77\n", "private-key": pem.decode()}
