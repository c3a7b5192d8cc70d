"""``driftloop propose``, ``driftloop promote`` and ``driftloop pulls``: the human gate."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from driftloop.adapters.repohost import ProposalHost
from driftloop.cli.common import emit, emit_json, registry_from_environment
from driftloop.config import load_drift_policy, load_gate_policy, load_model
from driftloop.errors import DataError, ExitCode, UsageError
from driftloop.promotion import promote
from driftloop.proposals import propose

__all__ = ["register"]


def _host_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        choices=("local", "github"),
        default=os.environ.get("DRIFTLOOP_REPO_HOST", "local"),
        help="local: this git repository, records under .driftloop/ (default); github: "
        "GITHUB_REPOSITORY via GITHUB_API_URL with GITHUB_TOKEN or a GitHub App",
    )
    parser.add_argument("--repo", type=Path, default=Path(), help="the local repository")


def proposal_host(args: argparse.Namespace) -> ProposalHost:
    if args.host == "github":
        from driftloop.adapters.github import GitHubHost

        return GitHubHost.from_environment()
    from driftloop.adapters.localhost import LocalRepoHost

    return LocalRepoHost(args.repo)


def _read_json(path: Path | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read {what}: {error}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: {what} must be a JSON object")
    return data


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "propose",
        help="open a PR bumping the production model version, or an issue if gates failed",
        description="Gates passed: commit the new version to k8s/overlays/production on branch "
        "driftloop/<model>-v<version> and open (or update) a pull request. Gates failed: open "
        "an issue with the evaluation diff (or comment on the open one) and exit 1.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--candidate", type=Path, required=True)
    parser.add_argument("--gate-report", type=Path, required=True)
    parser.add_argument("--evidence", type=Path, help="evidence.json from the drift check")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--policy", type=Path, default=Path("policies/gates.yaml"))
    parser.add_argument("--drift-policy", type=Path, default=Path("policies/drift.yaml"))
    parser.add_argument("--json", action="store_true")
    _host_arguments(parser)
    parser.set_defaults(handler=run_propose)

    parser = commands.add_parser(
        "promote",
        help="after a reviewed merge: audit tags in MLflow, then alias champion",
        description="Read the version the production overlay serves, find the merged pull "
        "request that set it, require an approving review by someone other than its author, "
        "write approved_by, merged_by, pr_url, commit, promoted_at to the MLflow version and "
        "move alias champion. Refused (exit 1) without such a review unless --allow-unreviewed.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", help="default: the version the production overlay serves")
    parser.add_argument("--allow-unreviewed", action="store_true")
    parser.add_argument("--json", action="store_true")
    _host_arguments(parser)
    parser.set_defaults(handler=run_promote)

    parser = commands.add_parser(
        "pulls", help="the local repo host's pull requests: list, show, approve, merge"
    )
    parser.add_argument("action", choices=("list", "show", "approve", "merge"))
    parser.add_argument("number", nargs="?", type=int)
    parser.add_argument(
        "--as",
        dest="user",
        default=os.environ.get("USER", "reviewer"),
        help="who approves or merges",
    )
    parser.add_argument("--repo", type=Path, default=Path())
    parser.set_defaults(handler=run_pulls)


def run_propose(args: argparse.Namespace) -> int:
    spec = load_model(args.model, args.models)
    candidate = _read_json(args.candidate, "candidate")
    gate = _read_json(args.gate_report, "gate report")
    if candidate.get("model") != spec.name or gate.get("model") != spec.name:
        raise DataError(f"candidate and gate report must both be for {spec.name!r}")
    if str(gate.get("candidate_version")) != str(candidate.get("version")):
        raise DataError("the gate report is for another candidate version")
    evidence = _read_json(args.evidence, "evidence")
    override = load_gate_policy(args.policy).models.get(spec.name)
    reviewers = list(override.reviewers or []) if override else []
    psi = load_drift_policy(args.drift_policy).settings_for(spec.name).thresholds.psi
    links = {"workflow_run_url": _workflow_run_url(), "run_url": None}
    result = propose(
        spec,
        candidate,
        gate,
        evidence,
        proposal_host(args),
        reviewers,
        psi.critical if psi else 0.25,
        links,
    )
    if args.json:
        emit_json(result.to_dict())
    else:
        where = f" #{result.number} {result.url}" if result.number else ""
        emit(
            f"{spec.name} v{candidate['version']}: {result.kind} {result.action}{where} "
            f"{result.reason}".rstrip()
        )
    return ExitCode.FINDING if result.kind == "issue" else ExitCode.OK


def _workflow_run_url() -> str | None:
    from driftloop.provenance import workflow_run_url

    return workflow_run_url()


def run_promote(args: argparse.Namespace) -> int:
    result = promote(
        args.model,
        proposal_host(args),
        registry_from_environment(),
        args.version,
        args.allow_unreviewed,
    )
    if args.json:
        emit_json(result.to_dict())
    else:
        emit(f"{result.model} v{result.version}: {'; '.join(result.reasons)}")
    return ExitCode.OK if result.promoted else ExitCode.FINDING


def run_pulls(args: argparse.Namespace) -> int:
    from driftloop.adapters.localhost import LocalRepoHost

    host = LocalRepoHost(args.repo)
    if args.action == "list":
        for record in host.pulls():
            emit(
                f"#{record['number']} [{record['state']}"
                f"{' merged' if record.get('merged') else ''}] "
                f"{record['title']} ({record['branch']}) approvals: "
                f"{', '.join(record.get('approvals', [])) or '-'}"
            )
        return ExitCode.OK
    if args.number is None:
        raise UsageError(f"pulls {args.action} needs a pull request number")
    if args.action == "show":
        emit(host.pull_body(args.number))
    elif args.action == "approve":
        host.approve(args.number, args.user)
        emit(f"#{args.number} approved by {args.user}")
    else:
        pull = host.merge(args.number, args.user)
        emit(
            f"#{pull.number} merged into {host.default_branch} by {args.user} ({pull.merge_commit})"
        )
    return ExitCode.OK
