"""The demo's work folder: a GitOps repository copied from the checkout (models, policies,
manifests, workflows) with the demo's compressed drift policy, committed to a fresh git
repository that the local repo host serves; and what a reviewer does there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.errors import UsageError

__all__ = ["DEMO_POLICY", "DEMO_REVIEWER", "approve_demo", "prepare", "project_root"]

MARKER = ".driftloop-demo"
DEMO_REVIEWER = "demo-reviewer"
DEMO_POLICY = """\
# The demo's drift policy. Time is compressed: PSI over a 15 s window (production: 1h), a
# trigger needs drift for 80% of 30 s (production: 6h). The thresholds are the usual ones.
apiVersion: driftloop/v1
kind: DriftPolicy
recorded_windows: [15s, 5m, 1h, 24h]
defaults:
  window: 15s
  min_samples: 300
  sustain: 30s
  sustain_fraction: 0.8
  cooldown: 10m
  max_triggers_per_week: 5
  thresholds:
    psi: {warn: 0.1, critical: 0.2}
models:
  churn:
    # Seed 001's AUC thresholds on labelled feedback, over 15s and sustained for 80% of 20s
    # (production: 1h and 3h). Only the concept scenario sends labels.
    performance:
      window: 15s
      min_labels: 300
      sustain: 20s
      sustain_fraction: 0.8
      thresholds:
        roc_auc: {warn: 0.80, critical: 0.75}
      # The demo model's own AUC (~0.77) is below warn: the label-free estimate would warn
      # all along while churn's traffic stays as it was.
      estimated: "off"
  tickets:
    # Seed 001's NLPInsight: class shares (warn 15, critical 25 points) and macro-F1 on
    # labelled feedback (warn 0.85, critical 0.80), over 15s as churn's AUC.
    prediction_share: {warn: 0.15, critical: 0.25}
    performance:
      window: 15s
      min_labels: 300
      sustain: 20s
      sustain_fraction: 0.8
      thresholds:
        f1_macro: {warn: 0.85, critical: 0.80}
"""


def project_root() -> Path:
    """The checkout the demo copies models/, policies/ and k8s/ from."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if all((candidate / part).is_dir() for part in ("models", "policies", "k8s")):
            return candidate
    raise UsageError("run the demo from a driftloop checkout (needs models/, policies/ and k8s/)")


def prepare(workdir: Path, source: Path) -> None:
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise UsageError(
                f"{workdir} is not empty and not a previous demo folder; choose another --workdir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for part in ("models", "policies", "k8s", ".github"):
        if (source / part).is_dir():
            shutil.copytree(source / part, workdir / part)
    (workdir / "policies/drift.yaml").write_text(DEMO_POLICY)
    (workdir / ".gitignore").write_text(
        ".driftloop/\nmlflow.db\nmlartifacts/\nlogs/\nprometheus/\nruns/\nreports/\n.driftloop-demo\n"
    )
    (workdir / MARKER).write_text("made by driftloop demo\n")
    # CODEOWNERS gives the production overlay to @driftloop/ml-platform; on the local host
    # .driftloop/teams.json stands in for GitHub's teams: whoever runs the demo reviews.
    reviewers = sorted({DEMO_REVIEWER, os.environ.get("USER") or "reviewer"})
    (workdir / ".driftloop").mkdir()
    (workdir / ".driftloop/teams.json").write_text(
        json.dumps({"driftloop/ml-platform": reviewers}, indent=2) + "\n"
    )
    (workdir / "logs").mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "driftloop demo",
        "GIT_AUTHOR_EMAIL": "demo@driftloop.invalid",
        "GIT_COMMITTER_NAME": "driftloop demo",
        "GIT_COMMITTER_EMAIL": "demo@driftloop.invalid",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["commit", "-q", "-m", "demo: initial GitOps repository"],
    ):
        subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True, env=env)  # noqa: S603, S607


def approve_demo(workdir: Path, reviewer: str) -> str:
    """What a reviewer does on the local host: approve and merge the open demo PR."""
    host = LocalRepoHost(workdir.resolve())
    open_pulls = [r for r in host.pulls() if r["state"] == "open"]
    if not open_pulls:
        raise UsageError(f"no open pull request in {workdir}")
    number = open_pulls[0]["number"]
    host.approve(number, reviewer)
    host.merge(number, reviewer)
    return f"#{number} approved and merged by {reviewer}"
