"""GitHub as the repo host, through PyGithub: dispatches, history, pull requests, issues.

Writes look before they create (PyGithub retries a POST after a 5xx, and the first attempt
may have succeeded): the dispatch for a drift episode, the PR for a branch and the issue for
a model are searched for first, and a "already exists" answer is resolved by reading again.
Errors become UpstreamError naming the permission a token lacks; the token itself is never
part of a message.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from github import Auth, Github, GithubException, GithubRetry
from github.NamedUser import NamedUser
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest as GhPull
from github.Repository import Repository

from driftloop.adapters.repohost import Edits, Issue, PullRequest, RepoHost, proposal_model
from driftloop.approval import Review
from driftloop.errors import UpstreamError, UsageError
from driftloop.gitops.codeowners import LOCATIONS
from driftloop.policy.signals import Dispatch, History

__all__ = ["WORKFLOW", "GitHubHost"]

WORKFLOW = "retrain.yml"
# Runs read per check at most: a month of a large fleet's retrains, in 10 requests.
MAX_RUNS = 1000
PERMISSIONS = (
    "the token needs actions: write (dispatch) and contents, pull-requests, issues: write (propose)"
)
_TITLE = re.compile(r"^retrain (?P<model>\S+) \((?P<trigger>[^)]*)\)$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
T = TypeVar("T")


@contextmanager
def _upstream(action: str) -> Iterator[None]:
    try:
        yield
    except GithubException as error:
        message = error.data.get("message") if isinstance(error.data, dict) else None
        if error.status == 401:
            raise UpstreamError(
                "GitHub", f"{action}: 401 {message or 'Bad credentials'}; {PERMISSIONS}"
            ) from None
        if error.status == 403:
            raise UpstreamError(
                "GitHub", f"{action}: 403 {message or 'forbidden'}; {PERMISSIONS}"
            ) from None
        transient = error.status >= 500 or error.status == 429
        raise UpstreamError(
            "GitHub", f"{action}: {error.status} {message or ''}".strip(), transient
        ) from None
    except OSError as error:
        raise UpstreamError(
            "GitHub", f"{action}: unreachable ({type(error).__name__})", transient=True
        ) from None


def _auth() -> Auth.Auth:
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        return Auth.Token(token)
    folder = os.environ.get("GITHUB_APP_CREDENTIALS_DIR")
    if folder:
        path = Path(folder)
        try:
            app_id, key, installation = (
                (path / name).read_text().strip()
                for name in ("app-id", "private-key", "installation-id")
            )
        except OSError as error:
            # A Secret mounted without a mode/fsGroup this user can read lands here.
            raise UpstreamError(
                "GitHub",
                f"cannot read the GitHub App credentials {error.filename}: {error.strerror} "
                f"(running as uid {os.getuid()}; the Secret's defaultMode and the pod's "
                "fsGroup must let it read them)",
            ) from None
        if not (app_id.isdigit() and installation.isdigit()):
            raise UsageError(f"{folder}: app-id and installation-id must be numbers")
        app = Auth.AppAuth(int(app_id), key + "\n")
        return app.get_installation_auth(int(installation))
    raise UsageError(
        "GitHub needs GITHUB_TOKEN, or GITHUB_APP_CREDENTIALS_DIR with app-id, "
        "installation-id and private-key"
    )


class GitHubHost(RepoHost):
    def __init__(
        self,
        repository: str,
        api_url: str = "https://api.github.com",
        auth: Auth.Auth | None = None,
        retries: int = 3,
        timeout: float = 15.0,
        write_pause: float = 1.0,
        settle: float = 15.0,
    ) -> None:
        auth = auth or _auth()
        self.client = Github(
            base_url=api_url,
            auth=auth,
            timeout=int(timeout),
            seconds_between_writes=write_pause,
            retry=GithubRetry(total=retries, backoff_factor=0.2),
            per_page=100,  # fewer pages for long listings (runs over a month)
        )
        # Creates that must happen once (dispatches, issues, comments) get no automatic retry:
        # PyGithub retries a POST after a 5xx, and when the first attempt had gone through
        # that runs the workflow twice or opens two issues. _write_once retries instead,
        # looking before each attempt.
        self.once = Github(
            base_url=api_url,
            auth=auth,
            timeout=int(timeout),
            seconds_between_writes=write_pause,
            retry=None,
        )
        self.retries = retries
        # GitHub lists a new workflow run some seconds after the dispatch: how long to keep
        # looking for it before an attempt that failed counts as not having happened
        self.settle = settle
        self.repository = repository
        self._repo: Repository | None = None
        self._once_repo: Repository | None = None

    @classmethod
    def from_environment(cls) -> GitHubHost:
        repository = os.environ.get("GITHUB_REPOSITORY")
        if not repository:
            raise UsageError("set GITHUB_REPOSITORY (owner/name) to use GitHub")
        return cls(repository, os.environ.get("GITHUB_API_URL", "https://api.github.com"))

    def close(self) -> None:
        self.client.close()
        self.once.close()

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            with _upstream(f"reading {self.repository}"):
                self._repo = self.client.get_repo(self.repository)
        return self._repo

    @property
    def default_branch(self) -> str:
        return str(self.repo.default_branch)

    # ---- dispatch ------------------------------------------------------------------------
    def _runs(self, status: str | None = None, since: datetime | None = None) -> list[Any]:
        """The workflow's runs, newest first: the latest 100, or with ``since`` every run
        created since then (up to ``MAX_RUNS``, 100 a page)."""
        with _upstream(f"listing {WORKFLOW} runs"):
            workflow = self.repo.get_workflow(WORKFLOW)
            filters: dict[str, Any] = {"status": status} if status else {}
            if since is not None:  # search syntax, by day (rest-api-description#2542)
                filters["created"] = f">={since.astimezone(UTC).date().isoformat()}"
            runs = workflow.get_runs(**filters)
            return list(itertools.islice(runs, MAX_RUNS if since is not None else 100))

    def retrain_history(self, model: str, now: datetime) -> History:
        return self.retrain_histories([model], now)[model]

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        """The workflow's runs (since ``since``: as far back as the policy looks, a monthly
        schedule's period included) and the open pull requests, in a fixed number of
        requests for the whole fleet (GitHub's rate limit is per token, not per model)."""
        dispatches: dict[str, list[Dispatch]] = {model: [] for model in models}
        active: dict[str, str] = {}
        for run in self._runs(since=since):
            match = _TITLE.match(run.display_title or "")
            if match is None or match.group("model") not in dispatches or run.created_at > now:
                continue
            model, trigger = match.group("model"), match.group("trigger")
            dispatches[model].append(Dispatch(run.created_at, trigger, "manual" in trigger))
            if run.status in ("queued", "in_progress", "waiting", "requested", "pending"):
                active.setdefault(model, f"{trigger} ({run.status})")
        pulls = self.open_pulls()
        return {
            model: History(
                tuple(dispatches[model]),
                f"#{pulls[model].number}" if model in pulls else None,
                active.get(model),
            )
            for model in models
        }

    def _write_once(self, action: str, create: Callable[[], T], find: Callable[[], T | None]) -> T:
        """``create`` exactly once: after an attempt that failed (perhaps only its answer was
        lost), look with ``find`` for up to ``settle`` seconds before trying again."""
        for attempt in range(self.retries + 1):
            if attempt:
                deadline = time.monotonic() + self.settle
                while True:
                    found = find()
                    if found is not None:
                        return found
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(min(1.0, self.settle / 5))
            try:
                with _upstream(action):
                    return create()
            except UpstreamError as error:
                if attempt == self.retries or not error.transient:
                    raise
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def once_repo(self) -> Repository:
        if self._once_repo is None:
            with _upstream(f"reading {self.repository}"):
                self._once_repo = self.once.get_repo(self.repository)
        return self._once_repo

    def _run_url(self, title: str) -> str | None:
        return next((str(r.html_url) for r in self._runs() if r.display_title == title), None)

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        title = f"retrain {model} ({trigger_id})"
        listed = self._run_url(title)
        if listed:  # a retried CronJob: it is dispatched already
            return listed
        inputs = {
            "model": model,
            "reason": reason[:1000],
            "trigger_id": trigger_id,
            "evidence": evidence,
        }
        done = f"{WORKFLOW} dispatched on {self.repository}@{self.default_branch} ({title})"
        with _upstream(f"reading {WORKFLOW}"):
            workflow = self.once_repo.get_workflow(WORKFLOW)

        def create() -> str:
            workflow.create_dispatch(self.default_branch, inputs, throw=True)
            return done

        return self._write_once(
            f"dispatching {WORKFLOW} on {self.default_branch}", create, lambda: self._run_url(title)
        )

    # ---- proposals -----------------------------------------------------------------------
    def read_file(self, path: str, ref: str) -> str:
        with _upstream(f"reading {path}@{ref}"):
            content = self.repo.get_contents(path, ref=ref)
            assert not isinstance(content, list)
            return content.decoded_content.decode()

    def _pull(self, pull: GhPull) -> PullRequest:
        head_repo = pull.head.repo.full_name if pull.head.repo else ""  # None: fork deleted
        return PullRequest(
            number=pull.number,
            url=pull.html_url,
            branch=pull.head.ref,
            title=pull.title,
            state=pull.state,
            author=pull.user.login if pull.user else "",
            merged=bool(pull.merged),
            merged_by=pull.merged_by.login if pull.merged_by else None,
            merge_commit=pull.merge_commit_sha,
            head_sha=pull.head.sha,
            head_repo=head_repo,
            base_repo=pull.base.repo.full_name if pull.base.repo else self.repository,
            base_branch=pull.base.ref,
            merged_at=pull.merged_at,
        )

    def find_open_pull(self, model: str) -> PullRequest | None:
        return self.open_pulls().get(model)

    def open_pulls(self) -> dict[str, PullRequest]:
        """The open driftloop pull request of each model (the first listed, if several)."""
        found: dict[str, PullRequest] = {}
        with _upstream("listing open pull requests"):
            for pull in self.repo.get_pulls(state="open", base=self.default_branch):
                model = proposal_model(pull.head.ref)
                if model is not None and model not in found:
                    found[model] = self._pull(pull)
        return found

    def _commit_files(self, branch: str, files: Edits, message: str) -> None:
        for path, edit in files.items():
            for attempt in range(2):  # a 409: the file moved between read and write; re-read once
                with _upstream(f"updating {path} on {branch}"):
                    current = self.repo.get_contents(path, ref=branch)
                    assert not isinstance(current, list)
                    before = current.decoded_content.decode()
                    text = edit(before)
                    if text == before:
                        break
                    try:
                        self.repo.update_file(path, message, text, current.sha, branch=branch)
                        break
                    except GithubException as error:
                        if error.status != 409 or attempt == 1:
                            raise

    def _ensure_branch(self, branch: str) -> None:
        with _upstream(f"creating branch {branch}"):
            base = self.repo.get_git_ref(f"heads/{self.default_branch}").object.sha
            try:
                self.repo.create_git_ref(f"refs/heads/{branch}", base)
            except GithubException as error:
                if error.status != 422:  # 422: it exists (an earlier attempt made it)
                    raise

    def _find_pull(self, branch: str) -> GhPull | None:
        owner = self.repository.split("/")[0]
        pulls = self.repo.get_pulls(
            state="open", head=f"{owner}:{branch}", base=self.default_branch
        )
        return next(iter(pulls), None)

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
        self._ensure_branch(branch)
        self._commit_files(branch, files, message)
        with _upstream(f"opening the pull request for {branch}"):
            pull = self._find_pull(branch)
            if pull is None:
                try:
                    pull = self.repo.create_pull(
                        base=self.default_branch, head=branch, title=title, body=body
                    )
                except GithubException as error:
                    pull = self._find_pull(branch) if error.status == 422 else None
                    if pull is None:
                        raise
            # PATCH with {"labels": [...]}: the form GitHub's schema documents (PyGithub's
            # add_to_labels posts a bare array, which the schema no longer lists)
            self.repo.get_issue(pull.number).edit(labels=labels)
            if reviewers:
                pull.create_review_request(reviewers=reviewers)
            return self._pull(pull)

    def update_pull(
        self, pull: PullRequest, title: str, body: str, files: Edits, message: str
    ) -> PullRequest:
        self._commit_files(pull.branch, files, message)
        with _upstream(f"updating pull request #{pull.number}"):
            gh = self.repo.get_pull(pull.number)
            gh.edit(title=title, body=body)
            return self._pull(gh)

    def find_open_issue(self, model: str, kind: str = "gate-failed") -> Issue | None:
        with _upstream(f"listing {kind} issues for {model}"):
            for issue in self.repo.get_issues(
                state="open", labels=["driftloop", kind, f"model:{model}"]
            ):
                if issue.pull_request is None:
                    return Issue(issue.number, issue.html_url, issue.title)
        return None

    def open_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        def create() -> Issue:
            issue = self.once_repo.create_issue(title=title, body=body, labels=labels)
            return Issue(issue.number, issue.html_url, issue.title)

        def find() -> Issue | None:
            with _upstream("listing issues"):
                for issue in self.repo.get_issues(state="open", labels=labels):
                    if issue.title == title and issue.pull_request is None:
                        return Issue(issue.number, issue.html_url, issue.title)
            return None

        return self._write_once("opening an issue", create, find)

    def comment(self, issue: Issue, body: str) -> None:
        def find() -> bool | None:
            with _upstream(f"listing comments of issue #{issue.number}"):
                comments = self.repo.get_issue(issue.number).get_comments()
                return True if any(c.body == body for c in comments) else None

        def create() -> bool:
            self.once_repo.get_issue(issue.number).create_comment(body)
            return True

        self._write_once(f"commenting on issue #{issue.number}", create, find)

    # ---- what promote judges a merge by -----------------------------------------------------
    def resolve(self, ref: str) -> str:
        if _SHA.match(ref):
            return ref
        with _upstream(f"resolving {ref}"):
            return str(self.repo.get_git_ref(f"heads/{ref}").object.sha)

    def parents(self, commit: str) -> list[str]:
        with _upstream(f"reading commit {commit[:12]}"):
            return [parent.sha for parent in self.repo.get_commit(commit).parents]

    def read_file_or_none(self, path: str, ref: str) -> str | None:
        with _upstream(f"reading {path}@{ref}"):
            try:
                content = self.repo.get_contents(path, ref=ref)
            except GithubException as error:
                if error.status == 404:
                    return None
                raise
            assert not isinstance(content, list)
            return content.decoded_content.decode()

    def merged_pull(self, commit: str) -> PullRequest | None:
        with _upstream(f"finding the pull request merged as {commit[:12]}"):
            for pull in self.repo.get_commit(commit).get_pulls():
                if (
                    pull.merged_at is not None
                    and pull.merge_commit_sha == commit
                    and pull.base.ref == self.default_branch
                ):
                    return self._pull(self.repo.get_pull(pull.number))
        return None

    def reviews(self, pull: PullRequest) -> list[Review]:
        with _upstream(f"reading the reviews of #{pull.number}"):
            return [
                Review(
                    user=review.user.login if review.user else "",
                    state=review.state,
                    commit_id=review.commit_id,
                    submitted_at=review.submitted_at,
                    bot=bool(review.user and review.user.type == "Bot"),
                )
                for review in self.repo.get_pull(pull.number).get_reviews()
            ]

    def pushers(self, pull: PullRequest) -> set[str]:
        found = set()
        with _upstream(f"reading the commits of #{pull.number}"):
            for commit in self.repo.get_pull(pull.number).get_commits():
                for user in (commit.author, commit.committer):
                    # web-flow is GitHub itself committing edits and merges made on the site
                    if user is not None and user.login != "web-flow":
                        found.add(user.login)
        return found

    def team_members(self, team: str) -> set[str]:
        org, _, slug = team.partition("/")
        with _upstream(f"listing the members of team {team} (the token needs members: read)"):
            members = PaginatedList(
                NamedUser, self.client.requester, f"/orgs/{org}/teams/{slug}/members", None
            )
            return {member.login for member in members}


def _get(host: GitHubHost, path: str) -> Any:
    """GET a repository endpoint as JSON; None when it is absent (404) or not readable with
    this token (403) (doctor reports which settings it could not see)."""
    try:
        _, data = host.client.requester.requestJsonAndCheck(
            "GET", f"/repos/{host.repository}{path}"
        )
    except GithubException as error:
        if error.status in (403, 404):
            return None
        with _upstream(f"reading {path}"):
            raise
    return data


def repository_facts(host: GitHubHost, environment: str) -> dict[str, Any]:
    """What `driftloop doctor` checks on GitHub: access, the workflow, CODEOWNERS, branch
    protection and rulesets on the default branch, and the environment holding the secrets."""
    repo = host.repo
    branch = str(repo.default_branch)
    permissions = repo.permissions
    facts: dict[str, Any] = {
        "default_branch": branch,
        "push": bool(permissions.push) if permissions is not None else None,
        "workflow": host.read_file_or_none(f".github/workflows/{WORKFLOW}", branch) is not None,
        "codeowners": next(
            (t for t in (host.read_file_or_none(p, branch) for p in LOCATIONS) if t is not None),
            None,
        ),
        "protection": _get(host, f"/branches/{branch}/protection"),
        "rules": _get(host, f"/rules/branches/{branch}") or [],
    }
    ids = {r.get("ruleset_id") for r in facts["rules"] if r.get("ruleset_id") is not None}
    facts["rulesets"] = {i: _get(host, f"/rulesets/{i}") for i in sorted(ids)}
    facts["environment"] = _get(host, f"/environments/{environment}")
    policies = _get(host, f"/environments/{environment}/deployment-branch-policies")
    facts["branch_policies"] = (
        [p["name"] for p in policies["branch_policies"] if p.get("type", "branch") == "branch"]
        if policies
        else None
    )
    secrets = _get(host, f"/environments/{environment}/secrets")
    facts["environment_secrets"] = [x["name"] for x in secrets["secrets"]] if secrets else None
    secrets = _get(host, "/actions/secrets")
    facts["repo_secrets"] = [x["name"] for x in secrets["secrets"]] if secrets else None
    return facts
