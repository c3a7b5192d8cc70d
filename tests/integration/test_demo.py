"""`driftloop demo` end to end: the persistent, transient, degraded and concept scenarios,
for churn and (persistent, concept) for tickets, the text classifier."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from driftloop.gitops.overlay import OVERLAY_FILE, served_version

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def demo(scenario: str, workdir: Path, model: str = "churn") -> tuple[dict, str]:  # type: ignore[type-arg]
    """The demo's JSON summary, and what it printed as it went."""
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "demo", "--scenario", scenario, "--workdir", str(workdir),
         "--approve", "--json", "--model", model],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("prometheus", "model_server", "model_server_churn", "model_server_taxi",
                "model_server_tickets"):  # fmt: skip
        url = urlparse(summary["where"][key])
        with socket.socket() as sock:  # nothing is left listening
            assert sock.connect_ex((url.hostname, url.port)) != 0, key
    return summary, result.stdout


def git(workdir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=workdir, check=True, capture_output=True, text=True
    ).stdout


def test_persistent_drift_ends_with_v2_promoted(tmp_path: Path) -> None:
    """Three models side by side: churn drifts and is retrained, proposed, merged, promoted;
    taxi and tickets, served beside it, stay ok and keep serving v1; the merge touches churn
    only."""
    summary, log = demo("persistent", tmp_path / "demo")
    workdir = tmp_path / "demo"
    assert summary["outcome"] == "v2 promoted and serving"
    # never silent while gating: each step is announced as it starts
    steps = [line for line in log.splitlines() if "retrain.yml (local): gate: " in line]
    assert [s.split("gate: ")[1].split(" ")[0] for s in steps] == [
        "scoring",
        "timing",
        "judging",
        "scanning",
    ]
    assert summary["models"] == {
        "churn": {"decision": "trigger", "serving": "2"},
        "taxi": {"decision": "ok", "serving": "1"},
        "tickets": {"decision": "ok", "serving": "1"},
    }
    changed = git(workdir, "diff", "main^1", "main", "--", "k8s").splitlines()
    edits = [line for line in changed if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # one line changes: churn's pin, with the digest of the bundle the gate scored
    gate_report = json.loads(next((workdir / "runs").glob("*/gate-report.json")).read_text())
    assert edits == [
        "-  - {name: model-version-churn, behavior: replace, literals: [MODEL_URI=models:/churn/1]}",
        (
            "+  - {name: model-version-churn, behavior: replace, literals: [MODEL_URI=models:/churn/2, "
            f"MODEL_DIGEST={gate_report['candidate_digest']}]}}"
        ),
    ]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", gate_report["candidate_digest"])
    assert (
        served_version(git(workdir, "show", f"driftloop/churn-v2:{OVERLAY_FILE}"), "churn") == "2"
    )
    assert served_version((workdir / OVERLAY_FILE).read_text(), "churn") == "2"  # merged
    body = Path(summary["where"]["pull_request"]).read_text()
    assert "| `primary_metric:roc_auc` | `golden` |" in body
    assert "monthly_charges" in body
    assert Path(summary["where"]["drift_report"]).read_text().lower().count("<html") >= 1


def test_transient_push_ends_without_a_trigger(tmp_path: Path) -> None:
    summary, _ = demo("transient", tmp_path / "demo")
    assert summary["outcome"] == "no trigger: the shift did not last the sustain period"
    assert "pull_request" not in summary["where"]
    assert summary["last_decision"]["decision"] in ("warn", "ok")
    assert not (tmp_path / "demo/.driftloop/dispatches").exists()


def test_degraded_labels_end_with_an_issue_naming_the_gate(tmp_path: Path) -> None:
    summary, _ = demo("degraded", tmp_path / "demo")
    assert summary["outcome"] == "gates failed: an issue was opened, nothing proposed"
    issue = Path(summary["where"]["issue"]).read_text()
    assert "failed its gates" in issue
    assert "per_class_f1_min" in issue
    assert git(tmp_path / "demo", "branch", "--list", "driftloop/*") == ""


def test_concept_drift_ends_with_a_pr_naming_realised_auc(tmp_path: Path) -> None:
    """Inputs stay put, labels change: no feature drifts, realised AUC on /feedback falls
    below seed 001's 0.75, and the PR says so."""
    summary, log = demo("concept", tmp_path / "demo")
    assert summary["outcome"] == "v2 promoted and serving"
    assert summary["last_decision"]["signal"] == "realised_performance"
    body = Path(summary["where"]["pull_request"]).read_text()
    assert "performance: realised roc\\_auc 0." in body
    assert "&lt; critical 0.75" in body
    assert "| realised quality (15s) | value | threshold | level | rows |" in body
    assert "| `roc_auc` | 0." in body
    assert "| 0.75 | critical |" in body
    assert "Drift evidence: no recorded drift" in body
    assert "check churn: trigger (realised_performance): realised roc_auc" in log


@pytest.mark.parametrize(
    ("scenario", "signal", "words"),
    [
        ("persistent", "feature_drift", "for **feature drift**"),
        ("concept", "realised_performance", "| `f1_macro` | 0."),
    ],
)
def test_tickets_ends_with_a_pr_naming_its_signal_and_the_others_stay_ok(
    tmp_path: Path, scenario: str, signal: str, words: str
) -> None:
    """Seed 001's NLPInsight: new words (persistent: message.oov_share drifts) or words that
    now mean another class (concept: macro-F1 on /feedback below 0.80) retrain tickets; churn
    and taxi, served beside it, stay ok and keep serving v1."""
    summary, log = demo(scenario, tmp_path / "demo", "tickets")
    assert summary["outcome"] == "v2 promoted and serving"
    assert summary["last_decision"]["signal"] == signal
    assert summary["models"] == {
        "tickets": {"decision": "trigger", "serving": "2"},
        "churn": {"decision": "ok", "serving": "1"},
        "taxi": {"decision": "ok", "serving": "1"},
    }
    body = Path(summary["where"]["pull_request"]).read_text()
    assert words in body
    assert "| `primary_metric:f1_macro` | `golden` |" in body
    if scenario == "persistent":
        assert "message.oov" in body
    assert "check tickets: trigger" in log
