"""``driftloop propose``, ``driftloop promote`` and ``driftloop pulls``: the human gate."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import emit, emit_json
from driftloop.errors import DataError, ExitCode, UsageError
from driftloop.gitops.inputs import parse_evidence

if TYPE_CHECKING:
    from driftloop.adapters.repohost import ProposalHost

__all__ = ["register"]


def host_arguments(parser: argparse.ArgumentParser) -> None:
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


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise DataError(f"{path}: cannot read {what}: {error.strerror}") from None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path, what))
    except ValueError as error:
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
    parser.add_argument("--candidate", type=Path)
    parser.add_argument("--gate-report", type=Path)
    parser.add_argument(
        "--retrain-failed",
        type=Path,
        metavar="LOG",
        help="the retrain refused its data (exit 2): open an issue quoting LOG's error line",
    )
    parser.add_argument("--reason", default="manual", help="with --retrain-failed")
    parser.add_argument("--trigger-id", default="", help="with --retrain-failed")
    parser.add_argument("--evidence", type=Path, help="evidence.json from the drift check")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--policy", type=Path, default=Path("policies/gates.yaml"))
    parser.add_argument("--drift-policy", type=Path, default=Path("policies/drift.yaml"))
    parser.add_argument("--json", action="store_true")
    host_arguments(parser)
    parser.set_defaults(handler=run_propose)

    parser = commands.add_parser(
        "pulls",
        help="the local repo host's pull requests: list, show, approve, request-changes, merge",
        description="Reviews are bound to the head they were given on; merge needs an approval "
        "of the current head by someone other than the author (--force bypasses that as an "
        "admin would; promote still refuses such a merge).",
    )
    parser.add_argument("action", choices=("list", "show", "approve", "request-changes", "merge"))
    parser.add_argument("number", nargs="?", type=int)
    parser.add_argument("--force", action="store_true", help="merge without a current approval")
    parser.add_argument(
        "--as",
        dest="user",
        default=os.environ.get("USER", "reviewer"),
        help="who approves or merges",
    )
    parser.add_argument("--repo", type=Path, default=Path())
    parser.set_defaults(handler=run_pulls)


def _failed_retrain(args: argparse.Namespace) -> int:
    from driftloop.config import load_model
    from driftloop.loop.propose import report_failed_retrain

    spec = load_model(args.model, args.models)
    lines = _read_text(args.retrain_failed, "retrain log").splitlines()
    problem = next((line for line in reversed(lines) if "error:" in line), None)
    problem = problem.split("error:", 1)[1].strip() if problem else "(no error line in the log)"
    result = report_failed_retrain(
        spec, problem, proposal_host(args), args.trigger_id, args.reason,
        {"workflow_run_url": _workflow_run_url()},
    )  # fmt: skip
    if args.json:
        emit_json(result.to_dict())
    else:
        emit(f"{spec.name}: retrain refused its data: issue {result.action} {result.url}")
    return ExitCode.FINDING


def run_propose(args: argparse.Namespace) -> int:
    from driftloop.config import load_drift_policy, load_gate_policy, load_model
    from driftloop.loop.propose import propose

    if args.retrain_failed is not None:
        return _failed_retrain(args)
    if args.candidate is None or args.gate_report is None:
        raise UsageError("propose needs --candidate and --gate-report (or --retrain-failed LOG)")
    spec = load_model(args.model, args.models)
    candidate = _read_json(args.candidate, "candidate")
    gate = _read_json(args.gate_report, "gate report")
    if candidate.get("model") != spec.name or gate.get("model") != spec.name:
        raise DataError(f"candidate and gate report must both be for {spec.name!r}")
    if str(gate.get("candidate_version")) != str(candidate.get("version")):
        raise DataError("the gate report is for another candidate version")
    evidence = (
        parse_evidence(_read_text(args.evidence, "evidence"), str(args.evidence))
        if args.evidence
        else {}
    )
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
    from driftloop.loop.provenance import workflow_run_url

    return workflow_run_url()


def run_pulls(args: argparse.Namespace) -> int:
    from driftloop.adapters.localhost import LocalRepoHost

    host = LocalRepoHost(args.repo)
    host.git  # noqa: B018 - a clear error when --repo is not a git repository
    if args.action == "list":
        pulls = host.pulls()
        if not pulls:
            emit(f"no pull requests in {host.state / 'pulls'}")
        for record in pulls:
            is_open = record["state"] == "open"
            approvers = host.current_approvers(record["number"]) if is_open else ()
            emit(
                f"#{record['number']} [{record['state']}"
                f"{' merged' if record.get('merged') else ''}] "
                f"{record['title']} ({record['branch']}) approvals of the head: "
                f"{', '.join(approvers) or '-'}"
            )
        return ExitCode.OK
    if args.number is None:
        raise UsageError(f"pulls {args.action} needs a pull request number")
    if args.action == "show":
        host.pull_record(args.number)  # a clear error for a pull request that does not exist
        emit(host.pull_body(args.number))
    elif args.action in ("approve", "request-changes"):
        state = "APPROVED" if args.action == "approve" else "CHANGES_REQUESTED"
        record = host.pull_record(args.number)
        if record["state"] != "open":  # GitHub takes it, and it changes nothing: say so
            done = "merged" if record.get("merged") else record["state"]
            raise UsageError(
                f"#{args.number} is {done}: a review now changes nothing (promote counts "
                "approvals of the merged head given before the merge)"
            )
        host.review(args.number, args.user, state)
        emit(f"#{args.number}: {state.lower().replace('_', ' ')} by {args.user}")
    else:
        pull = host.merge(args.number, args.user, force=args.force)
        emit(
            f"#{pull.number} merged into {host.default_branch} by {args.user} ({pull.merge_commit})"
        )
    return ExitCode.OK
