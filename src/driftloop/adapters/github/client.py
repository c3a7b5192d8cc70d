"""The connection to GitHub that every part of the adapter shares: authentication (a token
or a GitHub App), two PyGithub clients (one that retries, one that never retries a create),
errors mapped to UpstreamError, and writes that happen exactly once.

Errors become UpstreamError naming the permission a token lacks; the token itself is never
part of a message.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self, TypeVar
from urllib.parse import urlsplit

from github import Auth, BadAttributeException, Github, GithubException, GithubRetry
from github.PullRequest import PullRequest as GhPull
from github.Repository import Repository

from driftloop.adapters.repohost import PullRequest
from driftloop.errors import UpstreamError, UsageError

__all__ = ["GitHubClient", "upstream"]

PERMISSIONS = (
    "the token needs actions: write (dispatch) and contents, pull-requests, issues: write (propose)"
)
T = TypeVar("T")
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")


@contextmanager
def upstream(action: str) -> Iterator[None]:
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
    except (BadAttributeException, AssertionError, AttributeError, KeyError, TypeError,
            ValueError) as error:  # fmt: skip
        # PyGithub parsing a page that is not GitHub's JSON (a proxy's HTML, another API)
        raise UpstreamError(
            "GitHub", f"{action}: answered something unexpected ({type(error).__name__})"
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


class GitHubClient:
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
    def from_environment(cls) -> Self:
        repository = os.environ.get("GITHUB_REPOSITORY")
        if not repository:
            raise UsageError("set GITHUB_REPOSITORY (owner/name) to use GitHub")
        if not _REPOSITORY.match(repository):
            raise UsageError(f"GITHUB_REPOSITORY {repository[:80]!r} is not owner/name")
        api_url = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"GITHUB_API_URL {api_url[:80]!r} is not an http(s) URL")
        return cls(repository, api_url)

    def close(self) -> None:
        self.client.close()
        self.once.close()

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            with upstream(f"reading {self.repository}"):
                self._repo = self.client.get_repo(self.repository)
        return self._repo

    @property
    def default_branch(self) -> str:
        return str(self.repo.default_branch)

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
                with upstream(action):
                    return create()
            except UpstreamError as error:
                if attempt == self.retries or not error.transient:
                    raise
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def once_repo(self) -> Repository:
        if self._once_repo is None:
            with upstream(f"reading {self.repository}"):
                self._once_repo = self.once.get_repo(self.repository)
        return self._once_repo

    def read_file(self, path: str, ref: str) -> str:
        with upstream(f"reading {path}@{ref}"):
            content = self.repo.get_contents(path, ref=ref)
            assert not isinstance(content, list)
            return content.decoded_content.decode()

    def read_file_or_none(self, path: str, ref: str) -> str | None:
        with upstream(f"reading {path}@{ref}"):
            try:
                content = self.repo.get_contents(path, ref=ref)
            except GithubException as error:
                if error.status == 404:
                    return None
                raise
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
