"""The fake GitHub's git data and GitHub's records of it: refs, contents, commits, the pull
requests a commit belongs to, comparisons, and the repository activity (who pushed what to
which branch). A mixin of FakeGitHub (tests/support/github_server.py), which holds the state."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

JSON = dict[str, Any]

BOT = "driftloop[bot]"
LINK = "__link_header__"  # a handler's answer may carry its Link header under this key


def git_sha(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()  # noqa: S324 - an id, not security


class GitRecords:
    def list_activity(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        if not self.activity_visible:
            return 403, {"message": "Resource not accessible by integration"}
        branch = query.get("ref", "").removeprefix("refs/heads/")
        found = [a for a in reversed(self.activity) if not branch or a["branch"] == branch]
        start = int(query.get("after", "0"))
        size = int(query.get("per_page", "30"))
        page = [
            self.instances.of(
                "activity", id=1000 + self.activity.index(a), node_id=f"A{self.activity.index(a)}",
                before=a["before"], after=a["after"], ref=f"refs/heads/{a['branch']}",
                timestamp=a["at"], activity_type=a["kind"], actor=self._user(a["actor"]),
            )
            for a in found[start : start + size]
        ]  # fmt: skip
        answer: Any = page
        if start + size < len(found):
            link = f'<{self._repo_url()}/activity?ref={quote(query.get("ref", ""))}&per_page={size}&after={start + size}>; rel="next"'
            answer = {LINK: link, "__list__": page}
        return 200, answer

    def compare(self, base: str, head: str, **_: Any) -> tuple[int, Any]:
        if base not in self.commits or head not in self.commits:
            return 404, {"message": "Not Found"}
        before, after = self.commits[base]["files"], self.commits[head]["files"]
        changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        files = [
            self.instances.of("diff-entry", sha=git_sha("blob", after.get(n, "")), filename=n,
                              status="removed" if n not in after else "added" if n not in before else "modified",
                              blob_url="https://github.invalid/b", raw_url="https://github.invalid/r",
                              contents_url=f"{self._repo_url()}/contents/{n}")
            for n in changed
        ]  # fmt: skip
        answer = self.instances.of(
            "commit-comparison", url=f"{self._repo_url()}/compare/{base}...{head}",
            html_url="https://github.invalid/c", permalink_url="https://github.invalid/c",
            diff_url="https://github.invalid/c.diff", patch_url="https://github.invalid/c.patch",
            base_commit=self._commit_object(base), merge_base_commit=self._commit_object(base),
            status="ahead", ahead_by=1, behind_by=0, total_commits=1, commits=[], files=files,
        )  # fmt: skip
        return 200, answer

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
        if body["sha"] not in self.commits:
            return 422, {"message": "Object does not exist"}
        self.heads[branch] = body["sha"]
        self._record(branch, "0" * 40, body["sha"], BOT, "branch_creation")
        return 201, self._ref(branch)

    def _content(self, path: str, text: str) -> JSON:
        return self.instances.of(
            "content-file", type="file", encoding="base64", size=len(text), name=path.rsplit("/", 1)[-1], path=path,
            content=base64.b64encode(text.encode()).decode(), sha=git_sha("blob", text),
            url=f"{self._repo_url()}/contents/{path}", git_url=f"{self._repo_url()}/git/blobs/x",
            html_url=f"https://github.invalid/{self.owner}/{self.repo}/blob/{path}", download_url=f"https://raw.invalid/{path}",
        )  # fmt: skip

    def _resolve(self, ref: str) -> str | None:
        ref = ref.removeprefix("refs/heads/")
        if ref in self.heads:
            return self.heads[ref]
        return ref if ref in self.commits else None

    def get_contents(self, path: str, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        sha = self._resolve(query.get("ref", "main"))
        files = self.commits[sha]["files"] if sha else {}
        if path not in files:
            return 404, {"message": "Not Found"}
        return 200, self._content(path, files[path])

    def put_contents(self, path: str, body: JSON, **_: Any) -> tuple[int, Any]:
        branch = body.get("branch", "main")
        files = self.commits[self.heads[branch]]["files"]
        if path in files and body.get("sha") != git_sha("blob", files[path]):
            return 409, {"message": f"{path} does not match {body.get('sha')}"}
        text = base64.b64decode(body["content"]).decode()
        sha = self.push(branch, {path: text}, author=BOT, message=body["message"])
        commit = self.instances.of("file-commit")
        commit["commit"].update(sha=sha, message=body["message"])
        commit["content"] = self._content(path, text)
        return 200, commit

    def get_commit(self, ref: str, **_: Any) -> tuple[int, Any]:
        sha = self._resolve(ref)
        if sha is None:
            return 404, {"message": "No commit found for SHA"}
        return 200, self._commit_object(sha)

    def commit_pulls(self, sha: str, **_: Any) -> tuple[int, Any]:
        """Pull requests a commit belongs to: the one it merged, or those that carry it."""
        found = [
            self._current(p) for p in self.pulls.values()
            if p.get("merge_commit_sha") == sha or sha in self.ancestors(self._head_sha(p))
        ]  # fmt: skip
        return 200, sorted(found, key=lambda p: -p["number"])

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
