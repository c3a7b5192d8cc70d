"""`driftloop audit-deps`: real pip-audit over the image's lock file against a local OSV
server holding fixture advisories, judged by policies/dependencies.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.osv_server import Osv, advisory, locked_version, osv_server

from driftloop.cli.main import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements/image.txt"


@pytest.fixture
def osv() -> Iterator[tuple[Osv, str]]:
    database = Osv()
    with osv_server(database) as url:
        yield database, url
    assert database.errors == []


def policy(tmp_path: Path, allow: str = "[]", fail_at: str = "high") -> Path:
    path = tmp_path / "dependencies.yaml"
    path.write_text(f"apiVersion: driftloop/v1\nkind: DependencyAudit\nfail_at: {fail_at}\n"
                    f"allow: {allow}\n")  # fmt: skip
    return path


def audit(url: str, policy_path: Path, out: Path, lock: Path = LOCK) -> int:
    return main(["audit-deps", "--requirements", str(lock), "--policy", str(policy_path),
                 "--osv-url", url, "--out", str(out), "--timeout", "10"])  # fmt: skip


def test_a_high_advisory_fails_and_a_low_one_is_only_reported(
    osv: tuple[Osv, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, url = osv
    requests_version = locked_version("requests")
    database.records += [
        advisory("GHSA-fixt-high-0001", "requests", requests_version, "HIGH",
                 aliases=("CVE-2026-10001",), fixed="99.0"),
        advisory("GHSA-fixt-loww-0002", "jinja2", locked_version("Jinja2"), "LOW"),
    ]  # fmt: skip
    out = tmp_path / "audit.json"
    assert audit(url, policy(tmp_path), out) == 1
    result = json.loads(out.read_text())
    assert result["passed"] is False
    assert [(v["package"], v["severity"]) for v in result["failing"]] == [("requests", "high")]
    # pip-audit names it by its CVE; OSV's record (and its level) is the GHSA alias
    assert {result["failing"][0]["id"], *result["failing"][0]["aliases"]} == {
        "GHSA-fixt-high-0001", "CVE-2026-10001",
    }  # fmt: skip
    assert result["failing"][0]["version"] == requests_version
    assert result["failing"][0]["fix_versions"] == ["99.0"]
    assert [v["package"] for v in result["below_level"]] == ["jinja2"]
    assert result["packages"] == sum(1 for line in LOCK.read_text().splitlines()
                                     if line and not line.startswith("#"))  # fmt: skip
    # pip-audit asked OSV about every pinned package
    assert len(database.queries) == result["packages"]
    assert "FAIL requests" in capsys.readouterr().out


def test_an_allowance_with_a_reason_lets_it_through_until_it_expires(
    osv: tuple[Osv, str], tmp_path: Path
) -> None:
    database, url = osv
    database.records.append(
        advisory(
            "GHSA-fixt-high-0001",
            "requests",
            locked_version("requests"),
            "CRITICAL",
            aliases=("CVE-2026-10001",),
        )
    )
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    allow = (f'[{{id: CVE-2026-10001, package: requests, reason: "the server never sends '
             f'requests with user-supplied URLs", expires: {tomorrow}}}]')  # fmt: skip
    out = tmp_path / "audit.json"
    assert audit(url, policy(tmp_path, allow), out) == 0
    result = json.loads(out.read_text())
    assert result["allowed"][0]["allowance"]["expires"] == tomorrow

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert audit(url, policy(tmp_path, allow.replace(tomorrow, yesterday)), out) == 1
    result = json.loads(out.read_text())
    assert result["expired_allowances"][0]["allowance"]["id"] == "CVE-2026-10001"

    other_package = allow.replace("package: requests", "package: urllib3")
    assert audit(url, policy(tmp_path, other_package), out) == 1


def test_severity_comes_from_the_ghsa_alias_and_unknown_severity_fails(
    osv: tuple[Osv, str], tmp_path: Path
) -> None:
    database, url = osv
    version = locked_version("urllib3")
    database.records += [
        # PyPI's own record names no level; its GHSA alias says MODERATE
        advisory("PYSEC-2026-101", "urllib3", version, None, aliases=("GHSA-fixt-modr-0003",)),
        advisory("GHSA-fixt-modr-0003", "urllib3", "0.0.0-not-installed", "MODERATE"),
    ]
    out = tmp_path / "audit.json"
    assert audit(url, policy(tmp_path), out) == 0
    assert json.loads(out.read_text())["below_level"][0]["severity"] == "medium"
    assert audit(url, policy(tmp_path, fail_at="medium"), out) == 1

    database.records[1] = advisory("GHSA-fixt-modr-0003", "urllib3", "0.0.0", None)
    assert audit(url, policy(tmp_path), out) == 1  # no level anywhere: not assumed low
    assert json.loads(out.read_text())["failing"][0]["severity"] is None


def test_bad_policy_and_lock_are_exit_two_and_osv_down_is_exit_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.processes import free_port

    out = tmp_path / "audit.json"
    down = f"http://127.0.0.1:{free_port()}"
    no_reason = policy(tmp_path, "[{id: GHSA-a-b, expires: 2030-01-01}]")
    assert audit(down, no_reason, out) == 2
    assert "allow[0].reason" in capsys.readouterr().err
    no_expiry = policy(tmp_path, '[{id: GHSA-a-b, reason: "reviewed, harmless here"}]')
    assert audit(down, no_expiry, out) == 2
    assert "allow[0].expires" in capsys.readouterr().err
    bad_date = policy(tmp_path, '[{id: GHSA-a-b, reason: "reviewed, harmless", expires: soon}]')
    assert audit(down, bad_date, out) == 2
    unpinned = tmp_path / "lock.txt"
    unpinned.write_text("requests>=2\n")
    assert audit(down, policy(tmp_path), out, unpinned) == 2
    assert "lock.txt:1" in capsys.readouterr().err
    assert not out.exists()
    assert audit(down, policy(tmp_path), out) == 3
    assert "OSV" in capsys.readouterr().err


def test_the_release_record_names_the_digest_beside_its_audit(tmp_path: Path) -> None:
    """What release.yml's image job runs after the push (act cannot run the Docker actions
    before it, so the script is run here as the job would)."""
    import hashlib
    import os
    import subprocess

    (tmp_path / "audit.json").write_text('{"passed": true}\n')
    digest = "sha256:" + "ab" * 32
    env = {**os.environ, "DIGEST": digest, "GITHUB_SHA": "c" * 40}
    subprocess.run(["bash", str(ROOT / "scripts/release-record.sh"), str(tmp_path)], env=env,
                   check=True, capture_output=True)  # fmt: skip
    record = json.loads((tmp_path / "image.json").read_text())
    assert record["digest"] == digest
    assert record["commit"] == "c" * 40
    assert record["dependency_audit_sha256"] == hashlib.sha256(b'{"passed": true}\n').hexdigest()
    bad = subprocess.run(["bash", str(ROOT / "scripts/release-record.sh"), str(tmp_path)],
                         env={**env, "DIGEST": "latest"}, capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "DIGEST is not sha256" in bad.stderr
