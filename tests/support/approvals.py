"""Signing approvals in tests exactly as `driftloop promote` stores them: an in-toto
statement over the version's bundle digest, in a DSSE envelope, stored with the version."""

from __future__ import annotations

from pathlib import Path

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.attestation import Approval, approval_statement, bundle_digest, sign_envelope
from driftloop.attestation.keys import generate_key_pair, load_private_key
from driftloop.attestation.statement import PAYLOAD_TYPE
from driftloop.loop.promote import ATTESTATION_ARTIFACT

__all__ = ["key_folder", "sign_approval"]


def key_folder(folder: Path) -> Path:
    """A fresh key pair: ``<id>.pub`` (what servers trust) and ``signing.key``."""
    folder.mkdir(parents=True, exist_ok=True)
    pair = generate_key_pair()
    (folder / f"{pair.keyid}.pub").write_bytes(pair.public_pem)
    (folder / "signing.key").write_bytes(pair.private_pem)
    return folder


def sign_approval(
    registry: MlflowRegistry,
    model: str,
    version: str,
    keys: Path,
    *,
    for_version: str | None = None,
    approver: str = "dave",
    pull: int = 7,
) -> str:
    """Store an approval of ``for_version`` (default ``version``) with ``version``, signed
    with ``keys/signing.key``, and promote's tags; returns the envelope's URI."""
    subject = for_version or version
    path, _ = registry.download(f"models:/{model}/{subject}")
    keyid, key = load_private_key(keys / "signing.key")
    url = f"https://github.invalid/acme/models/pull/{pull}"
    approval = Approval(model, subject, bundle_digest(path), "acme/models", pull, url, "a" * 40,
                        "b" * 40, (approver,), "carol", "c" * 64, "2026-12-06T10:00:00+00:00")  # fmt: skip
    envelope = sign_envelope(PAYLOAD_TYPE, approval_statement(approval), key, keyid)
    uri = registry.write_version_artifact(model, version, ATTESTATION_ARTIFACT, envelope.to_json())
    registry.set_version_tags(model, version, {
        "approval_attestation": uri, "approved_by": approver, "pr_url": url, "head_sha": "a" * 40,
    })  # fmt: skip
    return uri
