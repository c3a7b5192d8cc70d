"""The local git plumbing on a machine where git knows no user (a fresh CI box)."""

from __future__ import annotations

import json
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


def test_pin_image_twice_on_the_local_host_is_one_pull_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#23.7: the second run used to open a duplicate pull request."""
    from driftloop.cli.main import main
    from driftloop.gitops.images import BASE_FILE

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "k8s/base").mkdir(parents=True)
    (tmp_path / BASE_FILE).write_text((root / BASE_FILE).read_text())
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    digest = "sha256:" + "cd" * 32
    assert main(["pin-image", "--digest", digest + "\n"]) == 2
    for _ in range(2):
        assert main(["pin-image", "--digest", digest, "--json"]) == 0
    numbers = {json.loads(line)["number"] for line in capsys.readouterr().out.splitlines()}
    assert len(numbers) == 1
    branch = subprocess.run(["git", "rev-list", "--count", "driftloop/image-cdcdcdcdcdcd"], cwd=tmp_path,
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert branch.strip() == "2"  # the base commit and one pin commit: no empty second commit
