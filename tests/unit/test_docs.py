"""The documents that cite tests cite tests that exist: each row of docs/security.md's threat
model names the test that shows its layer holds."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def defined_tests() -> set[str]:
    return {
        match
        for path in (ROOT / "tests").rglob("test_*.py")
        for match in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }


def test_every_test_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs/security.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"`(test_\w+)`", text))
    assert len(cited) >= 30
    assert sorted(cited - defined_tests()) == []


def test_every_attack_row_names_a_test() -> None:
    text = (ROOT / "docs/security.md").read_text(encoding="utf-8")
    section = text.split("## Attacks and what stops them", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 25
    assert [row for row in rows[1:] if "`test_" not in row] == []
