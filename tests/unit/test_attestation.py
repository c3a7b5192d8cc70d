"""Signed approvals: DSSE as its spec defines it (test vector), an in-toto Statement that
names one bundle by digest, and verification that fails closed and says why."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from driftloop.attestation import (
    Approval,
    Envelope,
    approval_statement,
    bundle_digest,
    generate_key_pair,
    pae,
    sign_envelope,
    verify_approval,
)
from driftloop.attestation.keys import load_private_key, load_public_keys
from driftloop.attestation.statement import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE
from driftloop.errors import ConfigError, DataError

DIGEST = "a" * 64


def approval(version: str = "2", digest: str = DIGEST) -> Approval:
    return Approval(
        "churn", version, digest, "acme/models", 7, "https://github.com/acme/models/pull/7",
        "b" * 40, "c" * 40, ("dave",), "carol", "d" * 64, "2026-12-06T10:00:00+00:00",
    )  # fmt: skip


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, object, dict]:  # type: ignore[type-arg]
    pair = generate_key_pair()
    (tmp_path / f"{pair.keyid}.pub").write_bytes(pair.public_pem)
    (tmp_path / "signing.pem").write_bytes(pair.private_pem)
    keyid, private = load_private_key(tmp_path / "signing.pem")
    assert keyid == pair.keyid
    return keyid, private, load_public_keys(tmp_path)


def signed(keys, statement: bytes) -> str:  # type: ignore[no-untyped-def]
    keyid, private, _ = keys
    return sign_envelope(PAYLOAD_TYPE, statement, private, keyid).to_json()


# ---- DSSE, against the protocol's own test vector --------------------------------------------


def test_pae_is_the_specs() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_the_specs_test_vector_envelope_verifies_through_our_decoding_and_pae() -> None:
    """DSSE protocol v1.0.2, 'Test Vectors': an ECDSA P-256 signature over PAE."""
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    envelope = Envelope.from_json(json.dumps({
        "payload": "aGVsbG8gd29ybGQ=", "payloadType": "http://example.com/HelloWorld",
        "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}],
    }))  # fmt: skip
    raw = envelope.signatures[0][1]
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, pae(envelope.payload_type, envelope.payload), ec.ECDSA(hashes.SHA256()))
    assert envelope.payload == b"hello world"


def test_securesystemslib_verifies_our_envelope(keys) -> None:  # type: ignore[no-untyped-def]
    """An independent DSSE implementation accepts what promote signs."""
    from securesystemslib.dsse import Envelope as SslibEnvelope
    from securesystemslib.signer import SSlibKey

    keyid, _, public = keys
    text = signed(keys, approval_statement(approval()))
    key = SSlibKey.from_crypto(public[keyid], keyid=keyid)
    accepted = SslibEnvelope.from_dict(json.loads(text)).verify([key], 1)
    assert list(accepted) == [keyid]


def test_url_safe_base64_is_accepted(keys) -> None:  # type: ignore[no-untyped-def]
    _, _, public = keys
    data = json.loads(signed(keys, approval_statement(approval())))
    data["payload"] = (
        base64.urlsafe_b64encode(base64.b64decode(data["payload"])).decode().rstrip("=")
    )
    assert verify_approval(json.dumps(data), public, "churn", "2", DIGEST).verified


# ---- the statement -------------------------------------------------------------------------


def test_the_statement_is_in_toto_v1_naming_the_bundle_by_digest() -> None:
    statement = json.loads(approval_statement(approval()))
    assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "models:/churn/2", "digest": {"sha256": DIGEST}}]
    assert statement["predicateType"] == PREDICATE_TYPE == "https://driftloop.dev/approval/v1"
    predicate = statement["predicate"]
    assert predicate["approvers"] == ["dave"]
    assert predicate["pullRequest"] == {"number": 7, "url": "https://github.com/acme/models/pull/7"}
    assert predicate["gateReport"] == {"digest": {"sha256": "d" * 64}}
    assert {"repository", "headSha", "mergeCommit", "mergedBy", "approvedAt"} <= set(predicate)


def test_a_proper_approval_verifies_and_names_its_facts(keys) -> None:  # type: ignore[no-untyped-def]
    keyid, _, public = keys
    result = verify_approval(
        signed(keys, approval_statement(approval())), public, "churn", "2", DIGEST
    )
    assert result.verified, result.reasons
    out = result.to_dict()
    assert (out["key_id"], out["approved_by"], out["merge_commit"]) == (keyid, "dave", "c" * 40)
    assert out["pr_url"].endswith("/pull/7")
    assert set(out) == {"model", "version", "verified", "digest", "key_id", "approved_by",
                        "pr_url", "merge_commit", "reasons"}  # fmt: skip


@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("no envelope", "has no approval attestation"),
        ("not json", "malformed"),
        ("unknown key", "no signature verifies with a trusted key"),
        ("tampered payload", "no signature verifies with a trusted key"),
        ("another version", "not models:/churn/2"),
        ("another bundle", "the bundle changed after approval"),
        ("wrong payload type", "payloadType"),
        ("withdrawn", "the approval was withdrawn"),
        ("not a statement", "not an in-toto Statement v1"),
    ],
)
def test_what_is_refused(keys, case: str, phrase: str) -> None:  # type: ignore[no-untyped-def]
    keyid, private, public = keys
    text: str | None = signed(keys, approval_statement(approval()))
    withdrawn = None
    if case == "no envelope":
        text = None
    elif case == "not json":
        text = "<html>"
    elif case == "unknown key":
        other = generate_key_pair()
        text = sign_envelope(PAYLOAD_TYPE, approval_statement(approval()),
                             load_pem_private_key(other.private_pem, None), keyid).to_json()  # type: ignore[arg-type]  # fmt: skip
    elif case == "tampered payload":
        data = json.loads(text)
        statement = json.loads(base64.b64decode(data["payload"]))
        statement["predicate"]["approvers"] = ["mallory"]
        data["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        text = json.dumps(data)
    elif case == "another version":
        text = signed(keys, approval_statement(approval(version="3")))
    elif case == "another bundle":
        text = signed(keys, approval_statement(approval(digest="e" * 64)))
    elif case == "wrong payload type":
        text = sign_envelope(
            "application/json", approval_statement(approval()), private, keyid
        ).to_json()
    elif case == "withdrawn":
        withdrawn = "canary aborted (reconcile)"
    elif case == "not a statement":
        text = signed(keys, json.dumps({"subject": []}).encode())
    result = verify_approval(text, public, "churn", "2", DIGEST, withdrawn)
    assert result.verified is False
    assert any(phrase in reason for reason in result.reasons), result.reasons


# ---- keys and digests ----------------------------------------------------------------------


def test_public_keys_are_read_by_file_stem_and_bad_files_are_errors(tmp_path: Path) -> None:
    pair = generate_key_pair()
    (tmp_path / "2026-q4.pub").write_bytes(pair.public_pem)
    keys = load_public_keys(tmp_path)
    assert list(keys) == ["2026-q4"]
    assert load_pem_public_key(pair.public_pem) is not None
    (tmp_path / "broken.pub").write_text("not a key")
    with pytest.raises(ConfigError, match=r"broken\.pub"):
        load_public_keys(tmp_path)
    with pytest.raises(ConfigError, match="holds no"):
        load_public_keys(_empty(tmp_path))
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_private_key(tmp_path / "2026-q4.pub")


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_bundle_digest_changes_with_any_file(tmp_path: Path) -> None:
    bundle = tmp_path / "model"
    (bundle / "sub").mkdir(parents=True)
    (bundle / "MLmodel").write_text("flavors: {}\n")
    (bundle / "sub" / "model.skops").write_bytes(b"\x00weights")
    first = bundle_digest(bundle)
    assert first == bundle_digest(bundle)  # stable
    (bundle / "sub" / "model.skops").write_bytes(b"\x00weightz")
    changed = bundle_digest(bundle)
    (bundle / "extra.py").write_text("import os\n")
    added = bundle_digest(bundle)
    (bundle / "extra.py").rename(bundle / "other.py")
    renamed = bundle_digest(bundle)
    assert len({first, changed, added, renamed}) == 4
    with pytest.raises(DataError):
        bundle_digest(tmp_path / "missing")
