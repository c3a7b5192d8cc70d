"""The CLI starts at once: building the argument parser, and `--help` of every command,
import none of the heavy libraries; each command imports what it uses when it runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from driftloop.cli import drift as drift_cli
from driftloop.cli.main import COMMANDS, build_parser

HEAVY = ["scipy", "sklearn", "pandas", "mlflow", "prometheus_api_client", "numpy", "github"]
PROBE = """
import json, sys
from driftloop.cli.main import build_parser
parser = build_parser()
commands = [a for a in parser._subparsers._group_actions[0].choices]
for command in commands:
    try:
        parser.parse_args([command, "--help"])
    except SystemExit:
        pass
print(json.dumps({"commands": commands, "loaded": [m for m in %r if m in sys.modules]}))
"""


def test_help_of_every_command_imports_no_heavy_library() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE % HEAVY], capture_output=True,
                            text=True, check=True, timeout=120)  # fmt: skip
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(probe["commands"]) >= len(COMMANDS)
    assert probe["loaded"] == []


def test_the_test_names_the_parser_offers_are_the_engines() -> None:
    from driftloop.drift.result import SIGNIFICANCE_TESTS, TEST_NAMES

    assert drift_cli.TEST_NAMES == TEST_NAMES
    assert set(drift_cli.SIGNIFICANCE_TESTS) == SIGNIFICANCE_TESTS
    assert build_parser().parse_args(["drift", "--current", "x", "--tests", "psi,ks"]).tests


def test_python_dash_m_driftloop_is_the_command() -> None:
    result = subprocess.run([sys.executable, "-m", "driftloop", "--version"], capture_output=True,
                            text=True, check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("driftloop ")


def test_the_demo_never_approves_by_itself_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """#23.8: without a terminal and without --approve the demo used to merge its own pull
    request as the demo reviewer. Now only --approve does; otherwise it stops and says how."""
    from driftloop.cli.main import main
    from driftloop.demo import loop
    from driftloop.demo.loop import DemoResult

    seen: list[object] = []

    def run_demo(scenario, workdir, report, approve=None, model="churn"):  # type: ignore[no-untyped-def]
        seen.append(approve)
        return DemoResult(scenario, "stopped", workdir)

    monkeypatch.setattr(loop, "run_demo", run_demo)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for extra, expected in (([], False), (["--approve"], True), (["--no-wait"], False)):
        assert main(["demo", "--workdir", str(tmp_path / "d"), *extra]) == 0
        assert seen.pop() is expected


def test_an_unexpected_error_is_exit_70_without_a_traceback_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug must not look like bad input (2) or a finding (1), nor spill a traceback."""
    from driftloop.cli import profile
    from driftloop.cli.main import INTERNAL_ERROR, main

    def broken(args: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(profile, "run", broken)
    assert (
        main(["profile", "--model", "churn", "--data", "x", "--out", "y"]) == INTERNAL_ERROR == 70
    )
    err = capsys.readouterr().err
    assert "internal error, please report it (KeyError" in err
    assert "Traceback" not in err
    assert main(["--debug", "profile", "--model", "churn", "--data", "x", "--out", "y"]) == 70
    assert "Traceback" in capsys.readouterr().err
