"""A local OSV API (https://google.github.io/osv.dev/api/) over a fixture vulnerability
database: ``POST /v1/query`` with a PyPI package and version, as pip-audit asks, and
``GET /v1/vulns/{id}``. A request outside that shape is answered 400 and kept in
``errors``, so the test fails on it."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.canned_http import serving

__all__ = ["Osv", "advisory", "locked_version", "osv_server"]

ROOT = Path(__file__).resolve().parents[2]


def locked_version(package: str) -> str:
    """The version requirements/image.txt pins, so the fixtures follow the lock."""
    for line in (ROOT / "requirements/image.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.lower() == package.lower():
            return version
    raise KeyError(package)


def advisory(vuln_id: str, package: str, version: str, severity: str | None,
             aliases: tuple[str, ...] = (), fixed: str = "9999.0") -> dict[str, Any]:  # fmt: skip
    """An OSV record in the shape osv.dev serves (schema 1.6)."""
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "modified": "2026-11-30T00:00:00Z",
        "published": "2026-11-01T00:00:00Z",
        "aliases": list(aliases),
        "summary": f"fixture vulnerability in {package}",
        "details": "A fixture record for driftloop's tests.",
        "affected": [
            {
                "package": {
                    "ecosystem": "PyPI",
                    "name": package.lower(),
                    "purl": f"pkg:pypi/{package.lower()}",
                },
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "versions": [version],
            }
        ],
    }
    if severity is not None:
        record["database_specific"] = {"severity": severity}
    return record


@dataclass
class Osv:
    records: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def query(self, body: Any) -> tuple[int, Any]:
        package = body.get("package") if isinstance(body, dict) else None
        if (
            not isinstance(package, dict)
            or package.get("ecosystem") != "PyPI"
            or not isinstance(package.get("name"), str)
            or not isinstance(body.get("version"), str)
            or set(body) - {"package", "version", "page_token"}
        ):
            self.errors.append(f"query outside the OSV API: {body!r}")
            return 400, {"code": 3, "message": "invalid query"}
        self.queries.append(body)
        name, version = package["name"].lower(), body["version"]
        vulns = [
            r for r in self.records
            if any(a["package"]["name"] == name and version in a.get("versions", [])
                   for a in r["affected"])
        ]  # fmt: skip
        return 200, ({"vulns": vulns} if vulns else {})

    def record(self, vuln_id: str) -> tuple[int, Any]:
        for r in self.records:
            if r["id"] == vuln_id:
                return 200, r
        return 404, {"code": 5, "message": "Bug not found."}


@contextmanager
def osv_server(osv: Osv) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/query":
                osv.errors.append(f"POST {self.path}")
                self._send(404, {"code": 5, "message": "not found"})
                return
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            self._send(*osv.query(body))

        def do_GET(self) -> None:
            prefix = "/v1/vulns/"
            if not self.path.startswith(prefix):
                osv.errors.append(f"GET {self.path}")
                self._send(404, {"code": 5, "message": "not found"})
                return
            self._send(*osv.record(self.path[len(prefix) :]))

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url
