"""The workflows and CODEOWNERS as the human gate needs them: secrets only in jobs bound to the
environment restricted to the default branch, untrusted inputs only through env:, promote
judging the pushed commit, and every path that changes production owned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from driftloop.doctor import check_codeowners

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def jobs(path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return yaml.safe_load(path.read_text())["jobs"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_secrets_reach_only_jobs_in_the_default_branch_environment(path: Path) -> None:
    """Dispatched on another branch (whose scripts anyone with write access controls), a job
    bound to the environment gets no secrets; a job outside it would get repository secrets."""
    for name, job in jobs(path).items():
        if "secrets." in yaml.safe_dump(job):
            assert job.get("environment") == "driftloop", f"{path.name}: job {name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_inputs_reach_run_steps_only_through_env(path: Path) -> None:
    for job in jobs(path).values():
        for step in job.get("steps", []):
            assert not re.search(r"\$\{\{\s*(inputs|github\.event)", step.get("run", ""))


def test_promote_judges_the_pushed_commit_with_a_token_that_reads_teams() -> None:
    job = jobs(ROOT / ".github/workflows/promote.yml")["promote"]
    app = next(s for s in job["steps"] if "create-github-app-token" in s.get("uses", ""))
    assert app["with"]["permission-members"] == "read"
    script = (ROOT / "scripts/promote.sh").read_text()
    assert '--commit "${GITHUB_SHA' in script
    assert "--allow-unreviewed" not in script
    assert "MODEL:-" not in script  # every model the merge changed, not a default one


def test_codeowners_owns_every_path_that_changes_production() -> None:
    check = check_codeowners((ROOT / ".github/CODEOWNERS").read_text(), "main")
    assert check.ok, check.detail
