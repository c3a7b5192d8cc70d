"""The real servers tests use, started by the same code as the demo's (driftloop.demo.processes):
the model server from a bundle folder and Prometheus, on 127.0.0.1, stopped when done."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftloop.demo.processes import free_port, running, stop, wait_ready
from driftloop.demo.processes import prometheus as _prometheus

__all__ = ["free_port", "model_server", "prometheus", "running", "stop", "wait_for"]


def wait_for(url: str, process, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    wait_ready(url, process, "test server", timeout=timeout)


@contextmanager
def model_server(bundle_dir: Path, log: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "driftloop.cli.main",
        "serve",
        "--model-uri",
        str(bundle_dir),
        "--port",
        str(port),
        "--drain-seconds",
        "0",
        *extra,
    ]
    with running(command, f"http://127.0.0.1:{port}/readyz", "model server", log) as url:
        yield url


@contextmanager
def prometheus(
    workdir: Path,
    targets: list[str],
    rule_groups: list[dict[str, object]],
    tsdb: Path | None = None,
    labels: dict[str, dict[str, str]] | None = None,
) -> Iterator[str]:
    with _prometheus(workdir, targets, rule_groups, tsdb=tsdb, labels=labels) as url:  # type: ignore[arg-type]
        yield url
