"""The bandit-high gate (#21.4, seed 001): real Bandit scans of a model folder, findings
matched against the champion's by what they are, not where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support.bundles import ROOT

from driftloop.adapters.bandit import scan_folder
from driftloop.errors import DataError
from driftloop.gates.security import findings_from_dict, scan_dict, security_gate

CLEAN = '''"""A train hook: the pipeline from the spec."""
from sklearn.linear_model import LogisticRegression


def build_pipeline(spec):
    return LogisticRegression()
'''
# eval of data (Bandit B307, MEDIUM) and a shell command built from data (B602, HIGH)
HOSTILE = '''"""A train hook that runs what the data says."""
import subprocess

from sklearn.linear_model import LogisticRegression


def build_pipeline(spec):
    settings = eval(spec.description)
    subprocess.run("echo " + str(settings), shell=True)
    return LogisticRegression()
'''


def folder(tmp_path: Path, name: str, hook: str) -> Path:
    target = tmp_path / name / "churn"
    shutil.copytree(ROOT / "models/churn", target)
    (target / "train.py").write_text(hook, encoding="utf-8")
    return target


def test_the_shipped_models_have_no_finding() -> None:
    for model in ("churn", "taxi", "tickets"):
        findings = scan_folder(ROOT / "models" / model)
        assert findings == [], model
        assert security_gate(findings, None, "high").passed


def test_a_hook_that_runs_data_fails_the_gate_whatever_the_champion_had(tmp_path: Path) -> None:
    clean = scan_folder(folder(tmp_path, "clean", CLEAN))
    hostile = scan_folder(folder(tmp_path, "hostile", HOSTILE))
    assert {(f.test_id, f.severity) for f in hostile} >= {("B307", "medium"), ("B602", "high")}
    shell = next(f for f in hostile if f.test_id == "B602")
    assert shell.path == "train.py"  # relative to the model's folder
    assert shell.code == 'subprocess.run("echo " + str(settings), shell=True)'
    result = security_gate(hostile, clean, "high")
    assert not result.passed
    assert result.name == "bandit-high"
    assert (result.champion, result.candidate, result.delta) == (0, 1, 1)
    assert "B602 HIGH train.py:9" in result.detail
    # eval is MEDIUM in Bandit: a HIGH-only gate lets it through, a medium one does not
    assert "B307" not in result.detail
    medium = security_gate(hostile, clean, "medium")
    assert medium.delta == 2
    assert "B307 MEDIUM train.py:8" in medium.detail


def test_a_finding_the_champion_had_is_not_new_even_when_it_moved(tmp_path: Path) -> None:
    before = scan_folder(folder(tmp_path, "before", HOSTILE))
    moved = HOSTILE.replace('"""A train hook', '# moved down two lines\n\n"""A train hook')
    after = scan_folder(folder(tmp_path, "after", moved))
    assert [f.line for f in after if f.test_id == "B602"] == [11]
    stored = findings_from_dict(scan_dict(before, "bandit"))  # as stored with the champion
    assert security_gate(after, stored, "high").passed
    # a second shell call is new although its check and file are the same
    again = moved + '\nsubprocess.run("ls " + "x", shell=True)\n'
    third = scan_folder(folder(tmp_path, "third", again))
    assert security_gate(third, stored, "high").delta == 1
    # no scan stored with the champion: nothing vouches for the old finding either
    alone = security_gate(after, None, "high")
    assert not alone.passed
    assert alone.champion is None


def test_a_file_bandit_cannot_parse_is_an_error_not_a_clean_scan(tmp_path: Path) -> None:
    broken = folder(tmp_path, "broken", "def build_pipeline(spec:\n")
    with pytest.raises(DataError, match=r"bandit could not scan .*train.py"):
        scan_folder(broken)


@pytest.mark.parametrize(
    "stored",
    [[], {"findings": "none"}, {"findings": [{"test_id": "B1"}]},
     {"findings": [{"test_id": "B1", "severity": "fatal", "confidence": "high", "path": "a",
                    "line": 1, "code": "x", "text": "t"}]}],
)  # fmt: skip
def test_a_stored_scan_that_is_not_one_is_refused(stored: object) -> None:
    with pytest.raises((TypeError, ValueError, KeyError)):
        findings_from_dict(stored)
