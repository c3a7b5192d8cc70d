"""Proposals on GitHub: the branch, commit and pull request that bump a pin, and the issue
(and its comments) when a gate fails. Each write looks before it creates."""

from __future__ import annotations

from github import GithubException
from github.PullRequest import PullRequest as GhPull

from driftloop.adapters.github.client import GitHubClient, upstream
from driftloop.adapters.repohost import Edits, Issue, PullRequest, proposal_model

__all__ = ["Proposals"]


class Proposals(GitHubClient):
    def find_open_pull(self, model: str) -> PullRequest | None:
        return self.open_pulls().get(model)

    def open_pulls(self) -> dict[str, PullRequest]:
        """The open driftloop pull request of each model (the first listed, if several)."""
        found: dict[str, PullRequest] = {}
        with upstream("listing open pull requests"):
            for pull in self.repo.get_pulls(state="open", base=self.default_branch):
                model = proposal_model(pull.head.ref)
                if model is not None and model not in found:
                    found[model] = self._pull(pull)
        return found

    def _commit_files(self, branch: str, files: Edits, message: str) -> None:
        for path, edit in files.items():
            for attempt in range(2):  # a 409: the file moved between read and write; re-read once
                with upstream(f"updating {path} on {branch}"):
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
        with upstream(f"creating branch {branch}"):
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
        with upstream(f"opening the pull request for {branch}"):
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
        with upstream(f"updating pull request #{pull.number}"):
            gh = self.repo.get_pull(pull.number)
            gh.edit(title=title, body=body)
            return self._pull(gh)

    def find_open_issue(self, model: str, kind: str = "gate-failed") -> Issue | None:
        with upstream(f"listing {kind} issues for {model}"):
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
            with upstream("listing issues"):
                for issue in self.repo.get_issues(state="open", labels=labels):
                    if issue.title == title and issue.pull_request is None:
                        return Issue(issue.number, issue.html_url, issue.title)
            return None

        return self._write_once("opening an issue", create, find)

    def comment(self, issue: Issue, body: str) -> None:
        def find() -> bool | None:
            with upstream(f"listing comments of issue #{issue.number}"):
                comments = self.repo.get_issue(issue.number).get_comments()
                return True if any(c.body == body for c in comments) else None

        def create() -> bool:
            self.once_repo.get_issue(issue.number).create_comment(body)
            return True

        self._write_once(f"commenting on issue #{issue.number}", create, find)
