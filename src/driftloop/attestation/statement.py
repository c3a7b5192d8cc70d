"""The approval attestation: an in-toto Statement v1 whose subject is a model version's
bundle (``models:/<model>/<version>`` with its sha256 digest) and whose predicate
(``https://driftloop.dev/approval/v1``) records who approved which pull request and what
it merged. ``verify_approval`` fails closed and says why (it never returns a bare bool)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from driftloop.attestation.dsse import Envelope
from driftloop.errors import DataError

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Approval",
    "Verification",
    "approval_statement",
    "subject_name",
    "verify_approval",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://driftloop.dev/approval/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def subject_name(model: str, version: str) -> str:
    return f"models:/{model}/{version}"


@dataclass(frozen=True)
class Approval:
    """The facts promote accepted a merge on."""

    model: str
    version: str
    digest: str  # sha256 of the bundle (driftloop.attestation.digest)
    repository: str
    pull_request: int
    pull_request_url: str
    head_sha: str
    merge_commit: str
    approvers: tuple[str, ...]
    merged_by: str
    gate_report_digest: str  # sha256 of the gate report this version passed
    approved_at: str  # ISO 8601, UTC


def approval_statement(approval: Approval) -> bytes:
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": subject_name(approval.model, approval.version),
                "digest": {"sha256": approval.digest},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "model": approval.model,
            "version": approval.version,
            "repository": approval.repository,
            "pullRequest": {"number": approval.pull_request, "url": approval.pull_request_url},
            "headSha": approval.head_sha,
            "mergeCommit": approval.merge_commit,
            "approvers": list(approval.approvers),
            "mergedBy": approval.merged_by,
            "gateReport": {"digest": {"sha256": approval.gate_report_digest}},
            "approvedAt": approval.approved_at,
        },
    }
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Verification:
    model: str
    version: str
    verified: bool
    digest: str | None  # of the artifact checked
    key_id: str | None = None
    predicate: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        pull = self.predicate.get("pullRequest") or {}
        approvers = self.predicate.get("approvers")
        return {
            "model": self.model,
            "version": self.version,
            "verified": self.verified,
            "digest": self.digest,
            "key_id": self.key_id,
            "approved_by": ",".join(approvers) if isinstance(approvers, list) else None,
            "pr_url": pull.get("url") if isinstance(pull, dict) else None,
            "merge_commit": self.predicate.get("mergeCommit"),
            "reasons": list(self.reasons),
        }


def _statement(payload: bytes) -> dict[str, Any]:
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise DataError("the signed payload is not JSON") from None
    if not isinstance(statement, dict):
        raise DataError("the signed payload is not a JSON object")
    return statement


def _mismatches(statement: dict[str, Any], model: str, version: str, digest: str) -> list[str]:
    problems = []
    if statement.get("_type") != STATEMENT_TYPE:
        problems.append(f"not an in-toto Statement v1 (_type {statement.get('_type')!r})")
    if statement.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"predicateType {statement.get('predicateType')!r} is not an approval")
    name = subject_name(model, version)
    subjects = statement.get("subject")
    subjects = subjects if isinstance(subjects, list) else []
    named = [s for s in subjects if isinstance(s, dict) and s.get("name") == name]
    if not named:
        others = [s.get("name") for s in subjects if isinstance(s, dict)]
        problems.append(f"the attestation approves {others}, not {name}")
    elif not any((s.get("digest") or {}).get("sha256") == digest for s in named):
        signed = (named[0].get("digest") or {}).get("sha256")
        problems.append(
            f"the artifact's digest sha256:{digest} is not the approved sha256:{signed} "
            "(the bundle changed after approval)"
        )
    predicate = statement.get("predicate")
    predicate = predicate if isinstance(predicate, dict) else {}
    if (predicate.get("model"), predicate.get("version")) != (model, version):
        problems.append(
            f"the predicate is for {predicate.get('model')!r} v{predicate.get('version')}, "
            f"not {model!r} v{version}"
        )
    return problems


def verify_approval(  # noqa: PLR0911 - one refusal per check, in order
    envelope_text: str | bytes | None,
    keys: dict[str, Ed25519PublicKey],
    model: str,
    version: str,
    digest: str,
    withdrawn: str | None = None,
) -> Verification:
    """Does a signed approval for exactly this model version and bundle digest exist? The
    payload that verified is the one parsed (never re-read from the envelope). A recorded
    withdrawal refuses whatever the signature says."""

    def refused(*reasons: str, key: str | None = None, predicate: Any = None) -> Verification:
        return Verification(model, version, False, digest, key, predicate or {}, reasons)

    if envelope_text is None:
        return refused(f"{subject_name(model, version)} has no approval attestation")
    try:
        envelope = Envelope.from_json(envelope_text)
    except DataError as error:
        return refused(f"the approval attestation is malformed: {error}")
    keyid = envelope.verified_by(keys)
    if keyid is None:
        hints = ", ".join(k or "(none)" for k, _ in envelope.signatures)
        return refused(f"no signature verifies with a trusted key (signed as {hints})")
    if envelope.payload_type != PAYLOAD_TYPE:
        return refused(f"payloadType {envelope.payload_type!r} is not {PAYLOAD_TYPE}", key=keyid)
    try:
        statement = _statement(envelope.payload)
    except DataError as error:
        return refused(str(error), key=keyid)
    found = statement.get("predicate")
    predicate: dict[str, Any] = found if isinstance(found, dict) else {}
    problems = _mismatches(statement, model, version, digest)
    if withdrawn:
        problems.append(f"the approval was withdrawn: {withdrawn}")
    if problems:
        return refused(*problems, key=keyid, predicate=predicate)
    approvers = ", ".join(predicate.get("approvers") or [])
    pull = predicate.get("pullRequest") or {}
    reason = f"signed by {keyid}: approved by {approvers} in {pull.get('url')}"
    return Verification(model, version, True, digest, keyid, predicate, (reason,))
