"""``driftloop promote``, ``driftloop verify`` and ``driftloop keygen``: the signed approval."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import (
    emit,
    emit_json,
    http_url,
    lineage_warnings,
    registry_from_environment,
    tracking_uri,
)
from driftloop.cli.propose import host_arguments, proposal_host
from driftloop.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from driftloop.loop.promote import SigningKey

__all__ = ["register"]

SIGNING_KEY_ENV = "DRIFTLOOP_SIGNING_KEY_FILE"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "promote",
        help="after a reviewed merge: sign the approval, record it in MLflow, alias champion",
        description="Judge every push to the default branch since the last one judged (the "
        "marker in MLflow, or --since): each model pin a merge changes is promoted only if the "
        "push GitHub recorded is the merge of a pull request from this repository's "
        "driftloop/<model>-v<N> branch, whose head pins that version and carries an approval "
        "given on that head, before the merge, by a code owner with write access who is not "
        "the author, a bot or a pusher (as GitHub recorded the pushes), and the version passed "
        "its gates. Then sign an in-toto approval attestation over the bundle's digest with "
        f"${SIGNING_KEY_ENV}, store it with the version, write the audit tags and move alias "
        "champion. A change to a production path no approved pull request made is reported "
        "(an issue). Refused: exit 1, the rule named, MLflow untouched.",
    )
    parser.add_argument(
        "--model", help="only this model, judged at --commit (default: every change in range)"
    )
    parser.add_argument(
        "--commit",
        help="the pushed commit (promote.yml passes it); default: every model the default "
        "branch pins, each judged at the commit that set its pin",
    )
    parser.add_argument(
        "--since",
        help="the push's before commit (promote.yml passes github.event.before): judge every "
        "push after it too",
    )
    parser.add_argument("--version", help="the version expected (checked against the pin)")
    parser.add_argument(
        "--withdraw",
        metavar="REASON",
        help="withdraw the approval of --model --version (servers then refuse it)",
    )
    parser.add_argument(
        "--pushgateway",
        default=os.environ.get("DRIFTLOOP_PUSHGATEWAY_URL") or None,
        help="push the run's unapproved changes and refusals here (alert "
        "ProductionChangeUnapproved; default: $DRIFTLOOP_PUSHGATEWAY_URL)",
    )
    parser.add_argument("--json", action="store_true")
    host_arguments(parser)
    parser.set_defaults(handler=run_promote)

    parser = commands.add_parser(
        "verify",
        help="does a model version carry a valid signed approval? exit 0 yes, 1 no",
        description="Download the version's bundle, compute its digest, and verify its approval "
        "attestation (DSSE, Ed25519) against the public keys: exit 0 verified, 1 not (the "
        "reasons named), 2 usage, 3 MLflow unreachable.",
    )
    parser.add_argument("--model-uri", required=True, help="models:/NAME/VERSION or @ALIAS")
    approval_keys_argument(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_verify)

    parser = commands.add_parser(
        "keygen",
        help="write an Ed25519 key pair for signing approvals",
        description="Write <key-id>.key (the private key: the driftloop environment's secret "
        "DRIFTLOOP_SIGNING_KEY, never committed) and <key-id>.pub (commit it to "
        "policies/approval-keys/).",
    )
    parser.add_argument("--out", type=Path, required=True, help="an existing directory")
    parser.set_defaults(handler=run_keygen)


def approval_keys_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--approval-keys",
        type=Path,
        default=Path(os.environ.get("DRIFTLOOP_APPROVAL_KEYS", "policies/approval-keys")),
        help="directory of <key-id>.pub approval keys (default: $DRIFTLOOP_APPROVAL_KEYS, "
        "else policies/approval-keys)",
    )


def signing_key_from_environment() -> SigningKey | None:
    from driftloop.attestation import load_private_key
    from driftloop.loop.promote import SigningKey

    path = os.environ.get(SIGNING_KEY_ENV)
    if not path:
        return None
    keyid, key = load_private_key(Path(path))
    return SigningKey(keyid, key)


def emit_error(text: str) -> None:
    sys.stderr.write(text + "\n")


def _repository() -> str:
    return os.environ.get("GITHUB_REPOSITORY", "")


def _promotions(args: argparse.Namespace, host: Any, registry: Any, key: Any) -> list[Any]:
    from driftloop.gitops.overlay import OVERLAY_FILE, pins
    from driftloop.loop.promote import promote

    if args.commit:
        models = [args.model]
    else:  # every model the default branch pins, each judged at the merge that set it
        pinned = pins(host.read_file(OVERLAY_FILE, host.default_branch))
        models = [args.model] if args.model else sorted(m for m, v in pinned.items() if v[0] != "@")
    return [
        promote(m, host, registry, args.version, commit=args.commit, signing_key=key,
                repository=_repository())
        for m in models
    ]  # fmt: skip


def _withdraw(args: argparse.Namespace) -> int:
    from driftloop.loop.promote import withdraw

    if not (args.model and args.version):
        raise UsageError("--withdraw needs --model and --version")
    tags = withdraw(registry_from_environment(), args.model, args.version, args.withdraw)
    emit(f"{args.model} v{args.version}: approval withdrawn ({tags['approval_withdrawn']})")
    return ExitCode.OK


def push(url: str, unapproved: int, refused: int) -> None:
    """What the alert ProductionChangeUnapproved reads (job driftloop-promote)."""
    import time

    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    from driftloop.errors import UpstreamError

    registry = CollectorRegistry()
    for name, help_text, value in (
        ("driftloop_promote_unapproved_changes", ("Production changes no approved PR made, "
         "in promote's last run."), unapproved),
        ("driftloop_promote_refused", "Pins promote refused in its last run.", refused),
        ("driftloop_promote_last_run_timestamp_seconds", "When promote last ran.", time.time()),
    ):  # fmt: skip
        Gauge(name, help_text, registry=registry).set(float(value))
    try:
        push_to_gateway(url, job="driftloop-promote", registry=registry, timeout=10)
    except OSError as error:
        raise UpstreamError("Pushgateway", f"{url}: {error}") from None


def _lineage(run: Any, promotions: list[Any]) -> None:
    """Inputs: each judged version and the gate report it passed; outputs: the champion
    alias of each model promoted, versioned, and its signed approval."""
    from driftloop.adapters.lineage import data_dataset, model_dataset

    for p in promotions:
        run.inputs.append(model_dataset(tracking_uri(), p.model, p.version))
        if p.promoted:
            champion = model_dataset(tracking_uri(), p.model, p.version, alias="champion")
            run.outputs.append(champion)
            if p.tags.get("approval_attestation"):
                run.outputs.append(data_dataset(p.tags["approval_attestation"], []))


def run_promote(args: argparse.Namespace) -> int:
    from driftloop.adapters.lineage import lineage_run

    if args.withdraw is not None:
        return _withdraw(args)
    if args.pushgateway:
        http_url(args.pushgateway, "--pushgateway")
    host = proposal_host(args)
    key = signing_key_from_environment()
    registry = registry_from_environment()
    with lineage_run("driftloop.promote") as run:
        if args.commit and not args.model:
            promotions, unapproved, ok = _audited(args, host, registry, key)
        else:
            promotions = _promotions(args, host, registry, key)
            ok = all(p.promoted for p in promotions)
            unapproved = 0
        _lineage(run, promotions)
    lineage_warnings(run.errors)
    for promotion in promotions:
        if args.json:
            emit_json(promotion.to_dict())
        else:
            emit(f"{promotion.model} v{promotion.version}: {'; '.join(promotion.reasons)}")
    if args.pushgateway:
        push(args.pushgateway, unapproved, sum(not p.promoted for p in promotions))
    return ExitCode.OK if ok else ExitCode.FINDING


def _audited(
    args: argparse.Namespace, host: Any, registry: Any, key: SigningKey | None
) -> tuple[list[Any], int, bool]:
    """Every push since the last judged commit: the promotions, how many production changes
    no approved pull request made, and whether all is well."""
    from driftloop.loop.audit import audit

    result = audit(host, registry, args.commit, args.since, signing_key=key,
                   repository=_repository())  # fmt: skip
    span = f"{result.start[:12]}..{result.end[:12]}"
    for note in result.notes:
        emit_error(f"driftloop promote: {note}")
    if not result.changes and not args.json:
        emit(f"nothing to promote: no production change in {span}")
    for change in result.changes:
        if args.json:
            emit_json(change.to_dict())
        elif not change.approved:
            reasons = "; ".join(change.reasons)
            emit(f"UNAPPROVED {change.push.after[:12]}: {reasons} ({change.issue})")
    unapproved = sum(not change.approved for change in result.changes)
    return list(result.promotions), unapproved, result.ok


def run_verify(args: argparse.Namespace) -> int:
    from driftloop.serve.approval import verify_version

    registry = registry_from_environment()
    result = verify_version(registry, args.model_uri, args.approval_keys)
    if args.json:
        emit_json(result.to_dict())
    else:
        state = "verified" if result.verified else "NOT verified"
        emit(f"{result.model} v{result.version}: {state}: {'; '.join(result.reasons)}")
    return ExitCode.OK if result.verified else ExitCode.FINDING


def run_keygen(args: argparse.Namespace) -> int:
    from driftloop.attestation import generate_key_pair

    if not args.out.is_dir():
        raise UsageError(f"--out {args.out}: not a directory")
    pair = generate_key_pair()
    private, public = args.out / f"{pair.keyid}.key", args.out / f"{pair.keyid}.pub"
    if private.exists() or public.exists():
        raise UsageError(f"{private} or {public} exists already; not overwriting a key")
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pair.private_pem)
    public.write_bytes(pair.public_pem)
    emit(f"key id {pair.keyid}: private key {private} (mode 600; store it as the driftloop "
         f"environment's secret DRIFTLOOP_SIGNING_KEY, then delete it), public key {public} "
         "(commit it to policies/approval-keys/)")  # fmt: skip
    return ExitCode.OK
