"""``driftloop audit-deps``: what release.yml runs before building the image: the locked
dependencies' known vulnerabilities (pip-audit against OSV) judged by the policy."""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftloop.cli.common import check_output, emit, http_url
from driftloop.errors import ExitCode, UsageError

__all__ = ["register"]

MAX_TIMEOUT = 600


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "audit-deps",
        help="audit the image's locked dependencies for known vulnerabilities (pip-audit, OSV)",
        description="Run pip-audit over the lock file against OSV, look up each finding's "
        "severity in OSV, and judge them by policies/dependencies.yaml: exit 1 when one at or "
        "above fail_at (or of unknown severity) has no unexpired allowance, 0 otherwise. The "
        "JSON result (--out) is what release.yml stores beside the image digest.",
    )
    parser.add_argument("--requirements", type=Path, default=Path("requirements/image.txt"))
    parser.add_argument("--policy", type=Path, default=Path("policies/dependencies.yaml"))
    parser.add_argument("--osv-url", default="https://api.osv.dev", help="the OSV API's base")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per OSV request")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.vulnerabilities import audit_requirements, read_lock
    from driftloop.config.audit_policy import load_audit_policy
    from driftloop.gates.dependencies import judge_vulnerabilities

    if not 1 <= args.timeout <= MAX_TIMEOUT:
        raise UsageError(f"--timeout {args.timeout}: between 1 and {MAX_TIMEOUT} seconds")
    http_url(args.osv_url, "--osv-url")
    check_output(args.out, "--out", create_parent=True)
    policy = load_audit_policy(args.policy)  # local files first: nothing asked of OSV
    pins = read_lock(args.requirements)
    found = audit_requirements(args.requirements, args.osv_url, args.timeout)
    today = datetime.now(UTC).date()
    verdict = judge_vulnerabilities(found, policy, today)
    result = {
        "requirements": str(args.requirements),
        "requirements_sha256": hashlib.sha256(args.requirements.read_bytes()).hexdigest(),
        "packages": len(pins),
        "osv_url": args.osv_url,
        "audited_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **verdict.to_dict(),
    }
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for v, allowance in verdict.allowed:
        emit(f"allowed until {allowance.expires}: {v.package} {v.version} {v.id} "
             f"({v.severity or 'unknown'}): {allowance.reason}")  # fmt: skip
    for v, allowance in verdict.expired:
        emit(f"allowance EXPIRED {allowance.expires}: {v.package} {v.version} {v.id}")
    for v in verdict.failing:
        fix = f"; fixed in {', '.join(v.fix_versions)}" if v.fix_versions else "; no fix yet"
        emit(f"FAIL {v.package} {v.version}: {v.id} ({v.severity or 'unknown severity'}){fix}")
    summary = (f"{len(pins)} packages audited: {len(found)} known vulnerabilities, "
               f"{len(verdict.failing)} at or above {policy.fail_at} not allowed")  # fmt: skip
    emit(summary)
    return ExitCode.OK if verdict.passed else ExitCode.FINDING
