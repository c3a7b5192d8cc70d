"""Known vulnerabilities of a locked requirements file: pip-audit matches each pinned
package against OSV; OSV's record of each match gives its severity (pip-audit's report
carries none). ``osv_url`` is the OSV API's base (https://api.osv.dev, or a mirror)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from driftloop.errors import DataError, UpstreamError, UsageError
from driftloop.gates.dependencies import Vulnerability, osv_severity

__all__ = ["OSV_URL", "audit_requirements", "read_lock"]

OSV_URL = "https://api.osv.dev"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9,._-]+\])?==([A-Za-z0-9.!+_-]+)$")


def read_lock(path: Path) -> dict[str, str]:
    """Package -> version of a lock file (``name==version`` per line): anything unpinned is
    an error naming its line, as an audit of a range would be an audit of nothing."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the lock file: {error}") from None
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line.split(";", 1)[0].strip())
        if match is None:
            raise DataError(f"{path}:{number}: {line[:80]!r} is not pinned as name==version")
        pins[match.group(1).lower()] = match.group(3)
    if not pins:
        raise DataError(f"{path}: no pinned requirement to audit")
    return pins


def _pip_audit(lock: Path, osv_url: str, timeout: int) -> dict[str, Any]:
    if importlib.util.find_spec("pip_audit") is None:
        raise UsageError("pip-audit is not installed: pip install 'driftloop[audit]'")
    with tempfile.TemporaryDirectory(prefix="driftloop-pip-audit-") as cache:
        command = [
            sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--no-deps",
            "--disable-pip", "--vulnerability-service", "osv", "--osv-url",
            f"{osv_url.rstrip('/')}/v1/query", "--format", "json", "--progress-spinner", "off",
            "--timeout", str(timeout), "--cache-dir", cache,
        ]  # fmt: skip
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
                command, capture_output=True, text=True, timeout=timeout * 20, check=False
            )
        except subprocess.TimeoutExpired:
            raise UpstreamError("OSV", f"pip-audit did not finish against {osv_url}") from None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise UpstreamError("OSV", f"pip-audit against {osv_url} failed: {last}") from None
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        raise UpstreamError("OSV", "pip-audit answered without a dependency list")
    return report


def _record(session: requests.Session, osv_url: str, vuln_id: str, timeout: int) -> dict[str, Any]:
    url = f"{osv_url.rstrip('/')}/v1/vulns/{quote(vuln_id, safe='')}"
    try:
        response = session.get(url, timeout=timeout)
    except requests.RequestException as error:
        raise UpstreamError("OSV", f"{url}: {type(error).__name__}", transient=True) from None
    if response.status_code == 404:
        return {}
    if response.status_code != 200:
        raise UpstreamError("OSV", f"{url}: HTTP {response.status_code}")
    try:
        record = response.json()
    except ValueError:
        raise UpstreamError("OSV", f"{url}: not JSON") from None
    return record if isinstance(record, dict) else {}


def _severity(session: requests.Session, osv_url: str, ids: list[str], timeout: int) -> str | None:
    """The first severity OSV gives for the id or, failing that, its GHSA aliases."""
    for vuln_id in [ids[0], *(i for i in ids[1:] if i.startswith("GHSA-"))]:
        level = osv_severity(_record(session, osv_url, vuln_id, timeout))
        if level:
            return level
    return None


def audit_requirements(
    lock: Path, osv_url: str = OSV_URL, timeout: int = 30
) -> list[Vulnerability]:
    read_lock(lock)  # refuse an unpinned file before asking anyone
    report = _pip_audit(lock, osv_url, timeout)
    found = []
    with requests.Session() as session:
        for dependency in report["dependencies"]:
            for vuln in dependency.get("vulns") or []:
                ids = [str(vuln["id"]), *map(str, vuln.get("aliases") or [])]
                found.append(Vulnerability(
                    package=str(dependency["name"]), version=str(dependency.get("version")),
                    id=ids[0], aliases=tuple(ids[1:]),
                    fix_versions=tuple(map(str, vuln.get("fix_versions") or [])),
                    severity=_severity(session, osv_url, ids, timeout),
                    summary=str(vuln.get("description") or "")[:300],
                ))  # fmt: skip
    return found
