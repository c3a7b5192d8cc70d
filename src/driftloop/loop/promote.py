"""`promote`: after a reviewed merge, sign the approval, record it and move the champion alias.

The merge is judged by what cannot be written into a body (driftloop.loop.judge): the push
GitHub recorded for it (its base, its kind), the merge's own diff setting the model's
version, the pull request GitHub says made it, from a ``driftloop/<model>-v<version>``
branch of this repository whose head pins the same version and carries an independent code
owner's approval (driftloop.gitops.approval), and a passed gate report of that version.
Anything else is refused with the rule that failed, and MLflow is not touched.

On acceptance promote signs an in-toto approval attestation over the version's bundle digest
(driftloop.attestation) with the key only the ``driftloop`` environment holds, stores it with
the version, writes the audit tags and only then moves ``champion``. The production model
server serves a version only when that signature verifies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driftloop.adapters.registry import ModelRegistry
from driftloop.adapters.repohost import ProposalHost, PullRequest
from driftloop.attestation import Approval, approval_statement, bundle_digest, sign_envelope
from driftloop.attestation.statement import PAYLOAD_TYPE
from driftloop.card import with_approval, with_withdrawal
from driftloop.config import ApprovalSettings
from driftloop.errors import ConfigError, DataError, UsageError
from driftloop.gitops.approval import Refusal
from driftloop.gitops.overlay import OVERLAY_FILE, generator_name, pinned_digest
from driftloop.loop.card import update_card
from driftloop.loop.gate import recorded_gate_report
from driftloop.loop.judge import (
    approval_settings,
    is_merge,
    judge_pull,
    pins_at,
    recorded_push,
    short,
)

__all__ = [
    "ATTESTATION_ARTIFACT",
    "Promotion",
    "SigningKey",
    "changed_models",
    "promote",
    "setting_commit",
    "withdraw",
]

ATTESTATION_ARTIFACT = "driftloop/approval.intoto.dsse.json"
# How far back along the default branch promote looks for the commit that set a pin.
SEARCH_COMMITS = 100


@dataclass(frozen=True)
class SigningKey:
    keyid: str
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class Promotion:
    model: str
    version: str
    promoted: bool
    reasons: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)  # the rules that refused it

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "promoted": self.promoted,
            "reasons": self.reasons,
            "rules": self.rules,
            "tags": self.tags,
        }


def setting_commit(host: ProposalHost, model: str, start: str) -> str:
    """The commit, following first parents from ``start``, that set ``model``'s current pin
    (what promote judges when no commit is given)."""
    commit, pinned = start, pins_at(host, start).get(model)
    for _ in range(SEARCH_COMMITS):
        parents = host.parents(commit)
        if not parents or pins_at(host, parents[0]).get(model) != pinned:
            return commit
        commit = parents[0]
    raise UsageError(
        f"the commit that pinned {model} at {pinned} is more than {SEARCH_COMMITS} commits "
        "back: pass --commit"
    )


def changed_models(host: ProposalHost, commit: str, base: str | None = None) -> list[str]:
    """Models whose version pin ``commit`` changes (against ``base``, default its first
    parent)."""
    if base is None:
        parents = host.parents(commit)
        base = parents[0] if parents else None
    before = pins_at(host, base) if base else {}
    after = pins_at(host, commit)
    return sorted(m for m, v in after.items() if before.get(m) != v and not v.startswith("@"))


def _refused(model: str, version: str, headline: str, refusals: list[Refusal]) -> Promotion:
    return Promotion(
        model,
        version,
        False,
        [f"refused: {headline}", *(str(r) for r in refusals)],
        rules=sorted({r.rule for r in refusals}),
    )


def _gate_refusal(registry: ModelRegistry, model: str, version: str) -> tuple[Refusal | None, str]:
    """A refusal unless ``version`` carries a passed gate report of its own; its digest."""
    found = recorded_gate_report(registry, model, version)
    if found is None:
        return Refusal("gate-passed", f"v{version} has no gate report of its own"), ""
    report, digest = found
    if report.get("model") != model or str(report.get("candidate_version")) != version:
        return Refusal(
            "gate-passed",
            f"the gate report stored with v{version} is for {report.get('model')!r} "
            f"v{report.get('candidate_version')}",
        ), digest
    if report.get("passed") is not True:
        failed = ", ".join(str(name) for name in report.get("failed", []))
        return Refusal("gate-passed", f"v{version} failed its gates ({failed})"), digest
    return None, digest


def _attest(
    registry: ModelRegistry,
    approval: Approval,
    signing_key: SigningKey,
) -> dict[str, str]:
    envelope = sign_envelope(
        PAYLOAD_TYPE, approval_statement(approval), signing_key.key, signing_key.keyid
    )
    text = envelope.to_json() + "\n"
    uri = registry.write_version_artifact(
        approval.model, approval.version, ATTESTATION_ARTIFACT, text
    )
    return {
        "approval_attestation": uri,
        "approval_attestation_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "approval_key_id": signing_key.keyid,
    }


def _digest(registry: ModelRegistry, model: str, version: str) -> str:
    path, _ = registry.download(f"models:/{model}/{version}")
    return bundle_digest(Path(path))


def _digest_refusal(
    host: ProposalHost, model: str, pull: PullRequest, merged: str, digest: str
) -> Refusal | None:
    """The reviewed head and the merge must pin the very bundle MLflow holds now: the gate
    scored it and propose pinned its digest; files swapped in the artifact store since are
    not what anyone reviewed."""
    pinned = {
        f"the head {short(pull.head_sha)}": _pinned_digest_at(host, pull.head_sha, model),
        f"the merge {short(merged)}": _pinned_digest_at(host, merged, model),
    }
    if any(value is None for value in pinned.values()):
        return Refusal("bundle-digest", f"the pin of {model} names no MODEL_DIGEST: the "
                       "reviewed commit must name the bundle the gate scored")  # fmt: skip
    wrong = [f"{where} pins {value}" for where, value in pinned.items() if value != digest]
    if wrong:
        return Refusal(
            "bundle-digest",
            f"MLflow holds {digest} for {model}, but {'; '.join(wrong)}: the bundle is not "
            "the one reviewed",
        )
    return None


def _pinned_digest_at(host: ProposalHost, ref: str, model: str) -> str | None:
    text = host.read_file_or_none(OVERLAY_FILE, ref)
    return pinned_digest(text, model, f"{OVERLAY_FILE}@{short(ref)}") if text else None


def _approve(
    model: str,
    version: str,
    pull: PullRequest,
    approvers: tuple[str, ...],
    commit: str,
    registry: ModelRegistry,
    gate_digest: str,
    signing_key: SigningKey | None,
    repository: str,
    digest: str,
) -> Promotion:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    tags = {
        "approved_by": ",".join(approvers),
        "pr_url": pull.url,
        "pr_number": str(pull.number),
        "head_sha": pull.head_sha,
        "merged_by": pull.merged_by or "",
        "commit": commit,
        "promoted_at": now,
        "promotion": "reviewed",
        "approval_digest": f"sha256:{digest}",
        "approval_withdrawn": "",  # a new reviewed merge approves it again
    }
    reasons = [
        f"v{version} is now the champion (approved by {tags['approved_by']} in #{pull.number})"
    ]
    if signing_key is not None:
        approval = Approval(
            model, version, digest, repository, pull.number, pull.url, pull.head_sha, commit,
            approvers, pull.merged_by or "", gate_digest, now,
        )  # fmt: skip
        tags.update(_attest(registry, approval, signing_key))
        reasons.append(f"approval signed with key {signing_key.keyid}")
    else:
        reasons.append(
            "the approval is NOT signed (no DRIFTLOOP_SIGNING_KEY_FILE): a server that requires "
            "approval will refuse this version"
        )
    registry.set_version_tags(model, version, tags)
    registry.set_alias(model, "champion", version)
    # The card reports, it does not vouch: a broken one must not hold back a reviewed merge.
    try:
        update_card(registry, model, version, lambda card: with_approval(card, tags))
    except DataError as error:
        reasons.append(f"model card not updated: {error}")
    return Promotion(model, version, True, reasons, tags)


def promote(  # noqa: PLR0911 - one refusal per rule, in order
    model: str,
    host: ProposalHost,
    registry: ModelRegistry,
    version: str | None = None,
    *,
    commit: str | None = None,
    settings: ApprovalSettings | None = None,
    signing_key: SigningKey | None = None,
    repository: str = "",
) -> Promotion:
    """Promote what ``commit`` pins for ``model``, if the merge that set it was approved.
    Without ``commit``: what the default branch pins, judged at the commit that set it.
    ``settings`` default to the approval rules of policies/gates.yaml at the base of the
    merge."""
    default = host.default_branch
    head = host.resolve(default)
    at = host.resolve(commit) if commit else head
    after = pins_at(host, at)
    if model not in after:
        raise ConfigError(
            OVERLAY_FILE, f"configMapGenerator.{generator_name(model)}", f"does not pin {model!r}"
        )
    pinned = after[model]
    if pinned.startswith("@"):
        raise UsageError(
            f"{OVERLAY_FILE} pins an alias ({pinned}), not a version: nothing to promote"
        )
    if version is not None and version != pinned:
        raise UsageError(f"v{version} is not what {short(at)} pins for {model} (v{pinned})")
    if at != head and pins_at(host, head).get(model) != pinned:
        refusal = Refusal("current-pin", f"{default} no longer pins v{pinned}")
        return _refused(model, pinned, f"{short(at)} was superseded", [refusal])
    if registry.alias_version(model, "champion") == pinned:
        return Promotion(model, pinned, True, [f"v{pinned} is the champion already"])
    commit = at if commit else setting_commit(host, model, head)
    headline = (
        f"v{pinned} of {model} reached {default} in {short(commit)} without a current approval"
    )

    push = recorded_push(host, default, commit)
    if push is None:
        refusal = Refusal("push-record", f"no recorded push brought {short(commit)} to {default}")
        return _refused(model, pinned, headline, [refusal])
    base = push.before
    if (pins_at(host, base) if base else {}).get(model) == pinned:
        refusal = Refusal(
            "merge-sets-version",
            f"{short(commit)} does not change {model}'s version (v{pinned} was pinned before "
            "it); promote the merge that set it (--commit)",
        )
        return _refused(model, pinned, headline, [refusal])
    pull = host.merged_pull(push.after) if is_merge(push) else None
    if pull is None:
        by = f" by {push.actor}" if push.actor else ""
        refusal = Refusal(
            "merged-pull-request",
            f"{short(commit)} is not the merge of a pull request into {default} "
            f"(a direct {push.kind.replace('_', ' ')}{by})",
        )
        return _refused(model, pinned, headline, [refusal])
    settings = settings or approval_settings(host, base)
    refusals, approvers = judge_pull(host, pull, settings, base, pin=(model, pinned))
    gate_refusal, gate_digest = _gate_refusal(registry, model, pinned)
    refusals += [gate_refusal] if gate_refusal else []
    if refusals:
        return _refused(model, pinned, headline, refusals)
    digest = _digest(registry, model, pinned)
    digest_refusal = _digest_refusal(host, model, pull, push.after, f"sha256:{digest}")
    if digest_refusal:
        return _refused(model, pinned, headline, [digest_refusal])
    return _approve(
        model, pinned, pull, approvers, push.after, registry, gate_digest, signing_key,
        repository, digest,
    )  # fmt: skip


def withdraw(registry: ModelRegistry, model: str, version: str, why: str) -> dict[str, str]:
    """Record that ``version``'s approval no longer holds. Unsigned on purpose: the server
    treats it only as a reason to refuse, never to serve."""
    if not why.strip():
        raise UsageError("a withdrawal needs a reason")
    when = datetime.now(UTC).isoformat(timespec="seconds")
    tags = {"approval_withdrawn": f"{why.strip()[:300]} ({when})"}
    registry.set_version_tags(model, version, tags)
    update_card(registry, model, version, lambda card: with_withdrawal(card, tags))
    return tags
