"""Where a run comes from: git commit and CI workflow run, from the environment."""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["git_commit", "workflow_run_url"]


def git_commit() -> str | None:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=10
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def workflow_run_url() -> str | None:
    server = os.environ.get("GITHUB_SERVER_URL")
    repository = os.environ.get("GITHUB_REPOSITORY")
    run_id = os.environ.get("GITHUB_RUN_ID")
    if server and repository and run_id:
        return f"{server}/{repository}/actions/runs/{run_id}"
    return None
