"""A local, stateful GitHub REST server for tests, validating every request and response
against GitHub's OpenAPI description (tests/contract/github-openapi.json, slimmed from
@octokit/openapi by scripts/slim_github_openapi.py).

It keeps one repository: branches with files, pull requests, reviews, issues, comments,
labels, the retrain workflow, its dispatches and runs, and branch protection. Tests inject
faults (a 5xx after the write happened, a rate limit with Retry-After, ...) and read
``contract_errors``, which must stay empty: a request PyGithub sends that GitHub would
reject, or an answer GitHub would never give, fails the test that caused it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
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


def _sha(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()  # noqa: S324 - git-like ids


class FakeGitHub:
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
        self.branches: dict[str, dict[str, str]] = {"main": {}}
        self.heads: dict[str, str] = {"main": _sha("root")}
        self.pulls: dict[int, JSON] = {}
        self.issues: dict[int, JSON] = {}
        self.reviews: dict[int, list[JSON]] = {}
        self.comments: list[JSON] = []
        self.dispatches: list[JSON] = []
        self.runs: list[JSON] = []
        self.workflows = {"retrain.yml": 1001}
        self.protection: JSON | None = None
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, str]] = []
        self.contract_errors: list[str] = []
        self.numbers = itertools.count(1)
        self.ids = itertools.count(100)

    # ---- state helpers for tests -------------------------------------------------------
    def add_file(self, path: str, text: str, branch: str = "main") -> None:
        self.branches[branch][path] = text
        self.heads[branch] = _sha(self.heads[branch], path, text)

    def fail(self, method: str, pattern: str, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(method.upper(), pattern, status, **kwargs))

    def add_review(self, number: int, login: str, state: str = "APPROVED") -> None:
        self.reviews.setdefault(number, []).append(
            self.instances.of(
                "pull-request-review",
                id=next(self.ids),
                user=self._user(login),
                state=state,
                body="",
                submitted_at=_now(),
                html_url=f"{self.base}/pr/{number}#review",
                pull_request_url=f"{self._repo_url()}/pulls/{number}",
            )
        )

    def merge(self, number: int, by: str = "maintainer") -> str:
        """Merge a pull request into main (as a person does on github.com)."""
        with self.lock:
            pull = self.pulls[number]
            head = pull["head"]["ref"]
            self.branches["main"] = dict(self.branches[head])
            sha = _sha(self.heads["main"], "merge", head)
            self.heads["main"] = sha
            pull.update(state="closed", merged=True, merged_at=_now(), closed_at=_now(),
                        merge_commit_sha=sha, merged_by=self._user(by))  # fmt: skip
            self.issues[number]["state"] = "closed"
            return sha

    def finish_runs(self, conclusion: str = "success") -> None:
        for run in self.runs:
            run.update(status="completed", conclusion=conclusion)

    # ---- objects -------------------------------------------------------------------------
    def _repo_url(self) -> str:
        return f"{self.base}/repos/{self.owner}/{self.repo}"

    def _user(self, login: str) -> JSON:
        return self.instances.of("simple-user", login=login, id=abs(hash(login)) % 10**6, type="User",
                                 url=f"{self.base}/users/{login}")  # fmt: skip

    def _repository(self) -> JSON:
        return self.instances.of(
            "full-repository",
            id=1, name=self.repo, full_name=f"{self.owner}/{self.repo}", owner=self._user(self.owner),
            url=self._repo_url(), html_url=f"https://github.invalid/{self.owner}/{self.repo}",
            default_branch="main", private=True,
            permissions={"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        )  # fmt: skip

    def _branch_ref(self, branch: str) -> JSON:
        return {"label": f"{self.owner}:{branch}", "ref": branch, "sha": self.heads.get(branch, ""),
                "user": self._user(self.owner), "repo": self._repository()}  # fmt: skip

    def _labels(self, names: list[str]) -> list[JSON]:
        return [self.instances.of("label", id=abs(hash(n)) % 10**6, name=n, url=f"{self._repo_url()}/labels/{n}")
                for n in names]  # fmt: skip

    def _issue(self, number: int) -> JSON:
        return self.issues[number]

    # ---- routing ---------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        r = rf"/repos/{self.owner}/{self.repo}"
        return [
            ("GET", rf"{r}", self.get_repo),
            ("GET", rf"{r}/actions/workflows/(?P<workflow>[^/]+)", self.get_workflow),
            ("POST", rf"{r}/actions/workflows/(?P<workflow>[^/]+)/dispatches", self.dispatch),
            ("GET", rf"{r}/actions/workflows/(?P<workflow>[^/]+)/runs", self.list_runs),
            ("GET", rf"{r}/pulls", self.list_pulls),
            ("POST", rf"{r}/pulls", self.create_pull),
            ("GET", rf"{r}/pulls/(?P<number>\d+)", self.get_pull),
            ("PATCH", rf"{r}/pulls/(?P<number>\d+)", self.edit_pull),
            ("GET", rf"{r}/pulls/(?P<number>\d+)/reviews", self.list_reviews),
            ("POST", rf"{r}/pulls/(?P<number>\d+)/requested_reviewers", self.request_reviewers),
            ("GET", rf"{r}/issues", self.list_issues),
            ("POST", rf"{r}/issues", self.create_issue),
            ("GET", rf"{r}/issues/(?P<number>\d+)", self.get_issue),
            ("PATCH", rf"{r}/issues/(?P<number>\d+)", self.edit_issue),
            ("POST", rf"{r}/issues/(?P<number>\d+)/comments", self.comment),
            ("POST", rf"{r}/issues/(?P<number>\d+)/labels", self.add_labels),
            ("GET", rf"{r}/git/ref/(?P<ref>.+)", self.get_ref),
            ("POST", rf"{r}/git/refs", self.create_ref),
            ("GET", rf"{r}/contents/(?P<path>.+)", self.get_contents),
            ("PUT", rf"{r}/contents/(?P<path>.+)", self.put_contents),
            ("GET", rf"{r}/branches/(?P<branch>[^/]+)", self.get_branch),
            ("GET", rf"{r}/branches/(?P<branch>[^/]+)/protection", self.get_protection),
        ]

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
        title = f"retrain {inputs.get('model', '')} ({inputs.get('trigger_id', '')})"
        run_id = next(self.ids)
        self.runs.append(self.instances.of(
            "workflow-run", id=run_id, name="retrain", display_title=title, status="queued", conclusion=None,
            event="workflow_dispatch", head_branch=body["ref"], workflow_id=self.workflows["retrain.yml"],
            url=f"{self._repo_url()}/actions/runs/{run_id}", created_at=_now(),
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/actions/runs/{run_id}",
        ))  # fmt: skip
        return 204, None

    def list_runs(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        runs = [r for r in self.runs if "status" not in query or r["status"] == query["status"]]
        return 200, {"total_count": len(runs), "workflow_runs": runs}

    def list_pulls(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        found = [
            p for p in self.pulls.values()
            if (state == "all" or p["state"] == state)
            and ("head" not in query or p["head"]["label"] == query["head"])
            and ("base" not in query or p["base"]["ref"] == query["base"])
        ]  # fmt: skip
        return 200, sorted(found, key=lambda p: -p["number"])

    def create_pull(self, body: JSON, **_: Any) -> tuple[int, Any]:
        head, base = body["head"].split(":")[-1], body["base"]
        if head not in self.branches:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            }
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.values()):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": f"A pull request already exists for {self.owner}:{head}."}]}  # fmt: skip
        number = next(self.numbers)
        url = f"{self._repo_url()}/pulls/{number}"
        pull = self.instances.of(
            "pull-request", id=next(self.ids), number=number, state="open", title=body["title"],
            body=body.get("body"), user=self._user("driftloop[bot]"), head=self._branch_ref(head),
            base=self._branch_ref(base), url=url, html_url=f"https://github.invalid/{self.owner}/{self.repo}/pull/{number}",
            issue_url=f"{self._repo_url()}/issues/{number}", merged=False, merged_at=None, merge_commit_sha=None,
            labels=[], requested_reviewers=[], created_at=_now(), updated_at=_now(), draft=False,
        )  # fmt: skip
        self.pulls[number] = pull
        self.issues[number] = self._new_issue(
            number, body["title"], body.get("body"), [], pull_request=True
        )
        return 201, pull

    def get_pull(self, number: str, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        return (200, pull) if pull else (404, {"message": "Not Found"})

    def edit_pull(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        pull = self.pulls[int(number)]
        for key in ("title", "body", "state"):
            if key in body:
                pull[key] = body[key]
                if key in self.issues[int(number)]:
                    self.issues[int(number)][key] = body[key]
        pull["updated_at"] = _now()
        return 200, pull

    def list_reviews(self, number: str, **_: Any) -> tuple[int, Any]:
        return 200, self.reviews.get(int(number), [])

    def request_reviewers(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        pull = self.pulls[int(number)]
        pull["requested_reviewers"] = [self._user(login) for login in body.get("reviewers", [])]
        return 201, pull

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
            labels=self._labels(labels), user=self._user("driftloop[bot]"), url=f"{self._repo_url()}/issues/{number}",
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

    def comment(self, number: str, body: JSON, **_: Any) -> tuple[int, Any]:
        issue = self.issues[int(number)]
        issue["comments"] += 1
        comment = self.instances.of(
            "issue-comment", id=next(self.ids), body=body["body"], user=self._user("driftloop[bot]"),
            url=f"{self._repo_url()}/issues/comments/1", issue_url=issue["url"], created_at=_now(), updated_at=_now(),
        )  # fmt: skip
        self.comments.append({"issue": int(number), "body": body["body"]})
        return 201, comment

    def add_labels(self, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        names = body if isinstance(body, list) else body.get("labels", [])
        names = [n if isinstance(n, str) else n["name"] for n in names]
        issue = self.issues[int(number)]
        current = [label["name"] for label in issue["labels"]]
        issue["labels"] = self._labels(current + [n for n in names if n not in current])
        if int(number) in self.pulls:
            self.pulls[int(number)]["labels"] = issue["labels"]
        return 200, issue["labels"]

    def get_ref(self, ref: str, **_: Any) -> tuple[int, Any]:
        branch = ref.removeprefix("heads/")
        if branch not in self.heads:
            return 404, {"message": "Not Found"}
        return 200, self._ref(branch)

    def _ref(self, branch: str) -> JSON:
        return {"ref": f"refs/heads/{branch}", "node_id": "x", "url": f"{self._repo_url()}/git/refs/heads/{branch}",
                "object": {"type": "commit", "sha": self.heads[branch], "url": f"{self._repo_url()}/git/commits/{self.heads[branch]}"}}  # fmt: skip

    def create_ref(self, body: JSON, **_: Any) -> tuple[int, Any]:
        branch = body["ref"].removeprefix("refs/heads/")
        if branch in self.heads:
            return 422, {"message": "Reference already exists"}
        source = next((b for b, sha in self.heads.items() if sha == body["sha"]), "main")
        self.branches[branch] = dict(self.branches[source])
        self.heads[branch] = body["sha"]
        return 201, self._ref(branch)

    def _content(self, path: str, text: str) -> JSON:
        return self.instances.of(
            "content-file", type="file", encoding="base64", size=len(text), name=path.rsplit("/", 1)[-1], path=path,
            content=base64.b64encode(text.encode()).decode(), sha=_sha("blob", text),
            url=f"{self._repo_url()}/contents/{path}", git_url=f"{self._repo_url()}/git/blobs/x",
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/blob/{path}", download_url=f"https://raw.invalid/{path}",
        )  # fmt: skip

    def get_contents(self, path: str, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        branch = query.get("ref", "main").removeprefix("refs/heads/")
        files = self.branches.get(branch, {})
        if path not in files:
            return 404, {"message": "Not Found"}
        return 200, self._content(path, files[path])

    def put_contents(self, path: str, body: JSON, **_: Any) -> tuple[int, Any]:
        branch = body.get("branch", "main")
        files = self.branches[branch]
        if path in files and body.get("sha") != _sha("blob", files[path]):
            return 409, {"message": f"{path} does not match {body.get('sha')}"}
        text = base64.b64decode(body["content"]).decode()
        files[path] = text
        self.heads[branch] = _sha(self.heads[branch], path, text)
        commit = self.instances.of("file-commit")
        commit["commit"].update(sha=self.heads[branch], message=body["message"])
        commit["content"] = self._content(path, text)
        return 200, commit

    def get_branch(self, branch: str, **_: Any) -> tuple[int, Any]:
        if branch not in self.heads:
            return 404, {"message": "Branch not found"}
        commit = self.instances.of(
            "commit", sha=self.heads[branch], url=f"{self._repo_url()}/commits/{self.heads[branch]}"
        )
        return 200, self.instances.of(
            "branch-with-protection",
            name=branch,
            commit=commit,
            protected=self.protection is not None,
            protection_url=f"{self._repo_url()}/branches/{branch}/protection",
        )

    def protect(self, reviews: int = 1, code_owners: bool = True) -> None:
        self.protection = self.instances.of(
            "branch-protection",
            url=f"{self._repo_url()}/branches/main/protection",
            required_pull_request_reviews={
                "url": f"{self._repo_url()}/branches/main/protection/required_pull_request_reviews",
                "required_approving_review_count": reviews,
                "require_code_owner_reviews": code_owners,
                "dismiss_stale_reviews": True,
            },
        )

    def get_protection(self, branch: str, **_: Any) -> tuple[int, Any]:
        if self.protection is None:
            return 404, {"message": "Branch not protected"}
        return 200, self.protection

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
        return status, {"content-type": "application/json"}, data


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
