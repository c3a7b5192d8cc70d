"""Signed approvals: an in-toto Statement naming a model version's bundle by digest, in a DSSE
envelope signed with Ed25519 (``cryptography``). ``promote`` signs one when it accepts a
merge; the production model server and ``driftloop verify`` check it. Pure: bytes, keys and
paths in, results out."""

from driftloop.attestation.digest import bundle_digest
from driftloop.attestation.dsse import Envelope, pae, sign_envelope
from driftloop.attestation.keys import (
    KeyPair,
    generate_key_pair,
    load_private_key,
    load_public_keys,
)
from driftloop.attestation.statement import (
    PREDICATE_TYPE,
    Approval,
    Verification,
    approval_statement,
    verify_approval,
)

__all__ = [
    "PREDICATE_TYPE",
    "Approval",
    "Envelope",
    "KeyPair",
    "Verification",
    "approval_statement",
    "bundle_digest",
    "generate_key_pair",
    "load_private_key",
    "load_public_keys",
    "pae",
    "sign_envelope",
    "verify_approval",
]
