"""The local git plumbing on a machine where git knows no user (a fresh CI box)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from driftloop.adapters.git import Git


def test_commits_work_without_a_configured_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    git = Git(tmp_path)
    empty_tree = git.run("mktree", stdin="").strip()
    root = git.run("commit-tree", empty_tree, "-m", "root").strip()
    git.run("update-ref", "refs/heads/main", root)
    commit = git.commit_on_branch("feature", root, {"f.txt": "two\n"}, "edit")
    assert git.read("f.txt", "feature") == "two\n"
    author = git.run("log", "-1", "--format=%an <%ae>", commit).strip()
    assert author == "driftloop <driftloop@localhost.invalid>"
