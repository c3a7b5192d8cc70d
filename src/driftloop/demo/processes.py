"""The processes the demo starts: the model server and Prometheus, on 127.0.0.1 only."""

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

__all__ = ["free_port", "model_server", "prometheus"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(
    url: str, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
            raise UpstreamError(
                what, f"exited with {process.returncode} while starting; log {log}:\n{tail}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise UpstreamError(what, f"not ready within {timeout:.0f}s (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def _process(
    command: list[str], url: str, what: str, log: Path, cwd: Path, env: dict[str, str]
) -> Iterator[str]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)  # noqa: S603
        try:
            _wait(url, process, what, log)
            yield url.split("/", 3)[0] + "//" + url.split("/", 3)[2]
        finally:
            _stop(process)


@contextmanager
def model_server(model_uri: str, workdir: Path, env: dict[str, str]) -> Iterator[str]:
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
        "--enable-reload",
    ]
    with _process(
        command,
        f"http://127.0.0.1:{port}/readyz",
        "model server",
        workdir / "logs/server.log",
        workdir,
        env,
    ) as url:
        yield url


@contextmanager
def prometheus(
    workdir: Path, target: str, groups: list[dict[str, Any]], env: dict[str, str]
) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise UsageError(
            "prometheus not found on PATH: run scripts/setup.sh (apt-get install prometheus)"
        )
    folder = workdir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(folder / "rules.yaml")],
        "scrape_configs": [
            {"job_name": "model-server", "static_configs": [{"targets": [target.split("//")[1]]}]}
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        binary,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with _process(
        command,
        f"http://127.0.0.1:{port}/-/ready",
        "Prometheus",
        workdir / "logs/prometheus.log",
        workdir,
        env,
    ) as url:
        yield url
