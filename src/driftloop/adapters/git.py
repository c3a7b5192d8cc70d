"""Plumbing on a real local git repository: read files at refs, commit edits on a branch
without touching the working tree, merge. The local repo host builds on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from driftloop.errors import ConfigError, UpstreamError

__all__ = ["Git"]


class Git:
    def __init__(self, root: Path) -> None:
        binary = shutil.which("git")
        if binary is None:
            raise UpstreamError("git", "not installed")
        self.binary = binary
        self.root = root
        self._identity: dict[str, str] | None = None

    def identity(self) -> dict[str, str]:
        """Environment naming driftloop as author and committer, only where git has no
        identity configured (a fresh machine, a CI container): commits must not fail there."""
        if self._identity is None:
            probe = subprocess.run(  # noqa: S603 - fixed binary
                [self.binary, "-C", str(self.root), "config", "user.email"],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            configured = probe.returncode == 0 and probe.stdout.strip()
            keys = (
                "GIT_AUTHOR_NAME",
                "GIT_AUTHOR_EMAIL",
                "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL",
            )
            if configured or all(k in os.environ for k in keys):
                self._identity = {}
            else:
                name, email = "driftloop", "driftloop@localhost.invalid"
                self._identity = {
                    k: name if k.endswith("NAME") else email for k in keys if k not in os.environ
                }
        return self._identity

    def run(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments are not a shell
            [self.binary, "-C", str(self.root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.identity(), **(env or {})},
        )
        if result.returncode != 0:
            raise UpstreamError("git", f"git {' '.join(args[:2])}: {result.stderr.strip()[:300]}")
        return result.stdout

    def is_repository(self) -> bool:
        try:
            self.run("rev-parse", "--git-dir")
        except UpstreamError:
            return False
        return True

    def head(self, branch: str) -> str | None:
        try:
            return (
                self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").strip() or None
            )
        except UpstreamError:
            return None

    def current_branch(self) -> str:
        return self.run("symbolic-ref", "--short", "HEAD").strip()

    def read(self, path: str, ref: str) -> str:
        try:
            return self.run("show", f"{ref}:{path}")
        except UpstreamError:
            raise ConfigError(f"{ref}:{path}", "", "file not found in the repository") from None

    def commit_on_branch(
        self, branch: str, parent: str, files: dict[str, str], message: str
    ) -> str:
        """Commit ``files`` on ``parent``, point ``branch`` at it; the working tree is untouched."""
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", parent, env=env)
            for path, text in files.items():
                blob = self.run("hash-object", "-w", "--stdin", stdin=text).strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.run("write-tree", env=env).strip()
        if tree == self.run("rev-parse", f"{parent}^{{tree}}").strip():
            return parent  # nothing changed: no empty commit (it would make approvals stale)
        commit = self.run("commit-tree", tree, "-p", parent, "-m", message).strip()
        self.run("update-ref", f"refs/heads/{branch}", commit)
        return commit

    def merge(self, branch: str, into: str, message: str) -> str:
        """Merge ``branch`` into ``into``; a working tree on ``into`` follows."""
        clean = not self.run("status", "--porcelain", "--untracked-files=no").strip()
        on_target = self.current_branch() == into
        if on_target and not clean:
            raise UpstreamError(
                "git", f"the working tree on {into} has uncommitted changes; commit or stash them"
            )
        tree = self.run("rev-parse", f"refs/heads/{branch}^{{tree}}").strip()
        parents = [
            "-p",
            self.run("rev-parse", f"refs/heads/{into}").strip(),
            "-p",
            self.run("rev-parse", f"refs/heads/{branch}").strip(),
        ]
        commit = self.run("commit-tree", tree, *parents, "-m", message).strip()
        self.run("update-ref", f"refs/heads/{into}", commit)
        if on_target:
            self.run("reset", "--hard", "--quiet", commit)
        return commit
