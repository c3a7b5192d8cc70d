"""Bandit over a model's own folder, run as its command line (``bandit -f json``): its
Python API is not a stable interface, its JSON report is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from driftloop.errors import DataError, UpstreamError
from driftloop.gates.security import Finding, findings_from_bandit

__all__ = ["scan_folder"]


def scan_folder(folder: Path, timeout: float = 300.0) -> list[Finding]:
    """Every Bandit finding in the Python files under ``folder`` (none for a folder with
    only ``model.yaml``). A file Bandit cannot parse is an error, not a clean scan."""
    command = [sys.executable, "-m", "bandit", "-r", str(folder), "-f", "json", "-q"]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise UpstreamError("bandit", f"no report for {folder} in {timeout:.0f} s") from None
    if done.returncode not in (0, 1):  # 1: findings
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UpstreamError("bandit", f"failed on {folder}: {' '.join(tail) or done.returncode}")
    try:
        report = json.loads(done.stdout)
        findings = findings_from_bandit(report, str(folder))
    except (ValueError, KeyError, TypeError) as error:
        raise UpstreamError("bandit", f"no usable report for {folder}: {error}") from None
    errors = report.get("errors") or []
    if errors:
        first = errors[0]
        raise DataError(
            f"bandit could not scan {first.get('filename')}: {first.get('reason')} "
            "(an unscanned file could hide a finding)"
        )
    return findings
