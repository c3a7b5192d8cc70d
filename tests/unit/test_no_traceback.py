"""No input ends in a traceback or exit 70: every value option of every command (read from the
argument parser itself, so a new option is covered the day it lands), given each of a set of
values a new user or a broken script sends, in turn, beside otherwise ordinary arguments.

What each should say is the table's job (test_bad_input_table.py); this one only asks that
the answer is one of the documented exit codes (0, 1, 2, 3) and never "internal error".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from tests.unit.test_bad_input_table import places  # noqa: F401 - the shared workspace

from driftloop.cli.main import build_parser, main

VALUES = (
    "", " ", "-", "nan", "inf", "-1", "0", "1e309", "99999999999999999999", "ftp://x/y",
    "/nonexistent/x", "..", "é ü", "x" * 300, "{}", "[]", "%s", "models:/", "sqlite:///",
)  # fmt: skip

# Ordinary arguments per command: each gets as far as it can without a long job (demo runs
# servers; its options are covered by test_demo).
BASE = {
    "profile": "--data {ws}/ref.csv --out {ws}/fuzz/p.json",
    "drift": "--reference {ws}/ref.csv --current {ws}/cur.csv",
    "serve": "--model-uri {ws}/no-bundle",
    "check": "--prometheus {empty} --model churn --dispatch none",
    "trigger": "--model churn --reason fuzz --repo {ws}",
    "backtest": "--prometheus {empty} --model churn --start -1h",
    "retrain": "--model churn --data {ws}/missing.csv --out {ws}/fuzz/c.json",
    "gate": "--model churn --candidate {ws}/c.json --out {ws}/fuzz/g.json",
    "card": "--model churn --version 1 --out {ws}/fuzz/card.md",
    "audit-deps": "--requirements {ws}/missing.txt --osv-url http://127.0.0.1:9 --out {ws}/fuzz/a.json",
    "propose": "--model churn --candidate {ws}/missing.json --host local --repo {ws}",
    "pulls": "show 2 --repo {ws}",
    "promote": "--model churn --host local --repo {ws}",
    "verify": "--model-uri models:/churn/1",
    "keygen": "--out {ws}/fuzz/keys",
    "pin-image": "--digest sha256:0 --host local --repo {ws}",
    "reconcile": "--prometheus {empty} --model churn --dry-run",
    "doctor": "--models {ws}/models --policies {ws}/policies",
}


def _options(command: str) -> list[str]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    return [
        action.option_strings[-1]
        for action in sub._actions
        if action.option_strings and action.nargs != 0 and action.dest != "help"
    ]


def test_every_command_but_demo_has_a_base() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) - {"demo"} == set(BASE)


@pytest.mark.parametrize("command", sorted(BASE))
def test_no_value_of_any_option_is_a_traceback(
    command: str, places: dict[str, str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ws = Path(places["ws"])
    (ws / "fuzz").mkdir(exist_ok=True)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{ws / 'mlflow.db'}")
    monkeypatch.setenv("DRIFTLOOP_APPROVAL_WAIT_SECONDS", "0")
    for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "DRIFTLOOP_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    base = BASE[command].format(**places).split()
    bad = []
    tried = 0
    for option in _options(command):
        kept = [w for i, w in enumerate(base) if w != option and (i == 0 or base[i - 1] != option)]
        for value in VALUES:
            argv = [command, *kept, f"{option}={value}"]
            capsys.readouterr()
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse's usage errors
                code = int(stop.code or 0)
            said = "".join(capsys.readouterr())
            tried += 1
            if code not in (0, 1, 2, 3) or "Traceback" in said or "internal error" in said:
                bad.append(f"{code} {argv}: {said.strip().splitlines()[-1:]}")
    assert tried
    assert not bad, "\n".join(bad)
