"""Shared fixtures: the repository root and small data files written per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_cwd() -> Iterator[Path]:
    """Run with the repository as working directory (where models/ and policies/ live)."""
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        yield ROOT
    finally:
        os.chdir(previous)


def _children(root: int) -> list[tuple[int, str]]:
    """Every live descendant process of ``root`` (pid, command), from /proc."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        parents[pid], names[pid] = int(fields[1]), f"{name} ({fields[0]})"
    found, frontier = [], {root}
    while frontier:
        below = {pid for pid, parent in parents.items() if parent in frontier}
        found += [(pid, names[pid]) for pid in below]
        frontier = below
    return found


def _listening_sockets() -> list[str]:
    """This process's own listening TCP sockets (an in-process server left running)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                listening.add((fields[9], fields[1]))
    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[8:-1])
    return sorted(address for inode, address in listening if inode in ours)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test may leave a process or a listening socket behind, even when it failed."""
    if hasattr(session.config, "workerinput"):  # pragma: no cover - xdist workers
        return
    left = _children(os.getpid())
    sockets = _listening_sockets()
    if left or sockets:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"left behind: processes {left}, listening sockets {sockets}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
