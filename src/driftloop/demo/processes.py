"""Starting and stopping the real servers the demo (and the test suite) run on 127.0.0.1:
the model server and Prometheus. Every process is stopped when its context ends, even on
failure or Ctrl-C (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from driftloop.errors import UpstreamError, UsageError

__all__ = ["free_port", "model_server", "prometheus", "running", "stop", "wait_ready"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    what: str,
    log: Path | None = None,
    timeout: float = 60.0,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-600:] if log and log.exists() else ""
            raise UpstreamError(
                what, f"exited with {process.returncode} while starting ({log}):\n{tail}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise UpstreamError(what, f"not ready within {timeout:.0f}s (log: {log})")


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running(
    command: list[str],
    ready: str,
    what: str,
    log: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``command`` until the context ends; yields the base URL of ``ready``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)  # noqa: S603
        try:
            wait_ready(ready, process, what, log)
            yield "/".join(ready.split("/", 3)[:3])
        finally:
            stop(process)


@contextmanager
def model_server(
    model_uri: str, workdir: Path, env: dict[str, str], *extra: str, log: Path | None = None
) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "driftloop.cli.main",
        "serve",
        "--model-uri",
        model_uri,
        "--port",
        str(port),
        "--drain-seconds",
        "0",
        *extra,
    ]
    ready = f"http://127.0.0.1:{port}/readyz"
    log = log or workdir / "logs/server.log"
    with running(command, ready, "model server", log, workdir, env) as url:
        yield url


@contextmanager
def prometheus(
    folder: Path,
    targets: list[str],
    groups: list[dict[str, Any]],
    env: dict[str, str] | None = None,
    tsdb: Path | None = None,
    log: Path | None = None,
    labels: dict[str, dict[str, str]] | None = None,
) -> Iterator[str]:
    """Prometheus scraping ``targets`` every second with rule ``groups``; its config lives in
    ``folder``; ``tsdb`` may hold backfilled history (retention is set far beyond it);
    ``labels`` (by target URL) are attached to a target's series, as Kubernetes service
    discovery attaches pod labels."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise UsageError(
            "prometheus not found on PATH: run scripts/setup.sh (apt-get install prometheus)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    static = [
        {"targets": [t.split("//")[1]], **({"labels": labels[t]} if labels and t in labels else {})}
        for t in targets
    ]
    scrape = [{"job_name": "model-server", "static_configs": static}] if static else []
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(folder / "rules.yaml")],
        "scrape_configs": scrape,
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        binary,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={tsdb or folder / 'tsdb'}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    ready = f"http://127.0.0.1:{port}/-/ready"
    with running(
        command, ready, "Prometheus", log or folder / "prometheus.log", folder, env
    ) as url:
        yield url
