"""Exceptions raised by driftloop, and the one place that maps them to exit codes.

Hierarchy::

    DriftloopError              anything driftloop raises on purpose
    ├── RefusedError            refused on purpose: an unapproved model version (exit 1)
    ├── UsageError              a command was called wrongly (exit 2)
    ├── ConfigError             a configuration file is invalid (exit 2)
    ├── DataError               input data is unreadable or unusable (exit 2)
    └── UpstreamError           Prometheus, MLflow or GitHub unavailable or refusing (exit 3)

Findings (drift found, a gate failed) are results, not errors: commands return
``ExitCode.FINDING`` for them. Anything else raised is a bug: the CLI exits 70 ("internal
error, please report it"), the traceback only with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ConfigError",
    "DataError",
    "DriftloopError",
    "ExitCode",
    "RefusedError",
    "UpstreamError",
    "UsageError",
    "exit_code_for",
]


class ExitCode(IntEnum):
    """Exit codes shared by every command."""

    OK = 0
    FINDING = 1
    USAGE = 2
    UPSTREAM = 3


class DriftloopError(Exception):
    """Base class of every error driftloop raises on purpose."""


class RefusedError(DriftloopError):
    """driftloop checked and said no (the model server refusing an unapproved version)."""


class UsageError(DriftloopError):
    """A command was called with arguments that do not fit together."""


class ConfigError(DriftloopError):
    """A configuration file is missing or invalid.

    ``source`` is the file, ``key`` the dotted key path (empty for the whole file) and
    ``problem`` what is wrong; ``str()`` gives ``source: key: problem``.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class DataError(DriftloopError):
    """Input data cannot be read or does not fit the expected schema."""


class UpstreamError(DriftloopError):
    """A service driftloop depends on is unavailable or refused the request."""

    def __init__(self, service: str, problem: str, transient: bool = False) -> None:
        self.service = service
        self.problem = problem
        self.transient = transient  # worth retrying: a 5xx, a rate limit, the network
        super().__init__(f"{service}: {problem}")


_EXIT_CODES: tuple[tuple[type[DriftloopError], ExitCode], ...] = (
    (UpstreamError, ExitCode.UPSTREAM),
    (RefusedError, ExitCode.FINDING),
    (UsageError, ExitCode.USAGE),
    (ConfigError, ExitCode.USAGE),
    (DataError, ExitCode.USAGE),
)


def exit_code_for(error: DriftloopError) -> ExitCode:
    """The exit code for an error; unknown subclasses count as usage errors."""
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.USAGE
