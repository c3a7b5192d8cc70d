"""``driftloop``: parse arguments, run a command, map errors to exit codes (only here)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Sequence

from driftloop import __version__
from driftloop.cli import (
    audit,
    backtest,
    card,
    check,
    demo,
    doctor,
    drift,
    gate,
    profile,
    promote,
    propose,
    reconcile,
    release,
    retrain,
    serve,
    trigger,
)
from driftloop.errors import DriftloopError, ExitCode, exit_code_for

__all__ = ["INTERNAL_ERROR", "build_parser", "main"]

INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): a bug, not the input

COMMANDS = (
    profile, drift, serve, check, trigger, backtest, retrain, gate, card, propose, promote, release,
    audit, reconcile, demo, doctor,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftloop",
        description="Drift-triggered ML retraining with a human in the loop.",
        epilog="Exit codes: 0 ok, 1 finding (drift, failed gate), 2 usage or bad input, "
        "3 upstream unavailable.",
    )
    parser.add_argument("--version", action="version", version=f"driftloop {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("DRIFTLOOP_DEBUG", "") not in ("", "0"),
        help="on an internal error, print the traceback (default: $DRIFTLOOP_DEBUG)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


# Options whose value may be a time before now (-90d): argparse would read it as an option.
_TIME_OPTIONS = ("--start", "--end", "--at", "--until")
_BEFORE_NOW = re.compile(r"^-\d+[smhdw]$")


def _join_times(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    for word in argv:
        if out and out[-1] in _TIME_OPTIONS and _BEFORE_NOW.match(word):
            out[-1] = f"{out[-1]}={word}"
        else:
            out.append(word)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_times(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.handler(args))
    except DriftloopError as error:
        print(f"driftloop {args.command}: error: {error}", file=sys.stderr)  # noqa: T201
        return int(exit_code_for(error))
    except OSError as error:  # the file system refused a path the user gave (too long, ...)
        where = f": {str(error.filename)[:80]}" if error.filename else ""
        print(f"driftloop {args.command}: error: {error.strerror or error}{where}", file=sys.stderr)  # noqa: T201
        code = (
            ExitCode.UPSTREAM
            if isinstance(error, ConnectionError | TimeoutError)
            else ExitCode.USAGE
        )
        return int(code)
    except KeyboardInterrupt:
        print(f"driftloop {args.command}: interrupted", file=sys.stderr)  # noqa: T201
        return 130
    except Exception as error:  # the one place a bug becomes an exit code (70)
        if args.debug:
            traceback.print_exc()
        print(  # noqa: T201
            f"driftloop {args.command}: internal error, please report it "
            f"({type(error).__name__}; --debug shows the traceback)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
