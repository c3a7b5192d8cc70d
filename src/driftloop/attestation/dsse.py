"""DSSE envelopes (secure-systems-lab/dsse, protocol v1.0.2): the signature covers the payload
type and the payload bytes together (PAE), so it cannot be replayed onto other content.
Ed25519 through ``cryptography``; nothing cryptographic is implemented here."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from driftloop.errors import DataError

__all__ = ["Envelope", "pae", "sign_envelope"]


def pae(payload_type: str, body: bytes) -> bytes:
    """The Pre-Authentication Encoding: ``DSSEv1 <len> <type> <len> <body>``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def _b64decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise DataError(f"envelope: {what} is not a base64 string")
    padded = text + "=" * (-len(text) % 4)
    try:  # the protocol allows standard and URL-safe base64; verifiers must accept both
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"envelope: {what} is not valid base64") from None


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature)

    def to_json(self) -> str:
        return json.dumps(
            {
                "payload": base64.b64encode(self.payload).decode(),
                "payloadType": self.payload_type,
                "signatures": [
                    {"keyid": keyid, "sig": base64.b64encode(sig).decode()}
                    for keyid, sig in self.signatures
                ],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise DataError("envelope: not JSON") from None
        if not isinstance(data, dict):
            raise DataError("envelope: not a JSON object")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str):
            raise DataError("envelope: payloadType missing")
        signatures = data.get("signatures")
        if not isinstance(signatures, list) or not signatures:
            raise DataError("envelope: no signatures")
        parsed = []
        for entry in signatures:
            if not isinstance(entry, dict):
                raise DataError("envelope: a signature is not an object")
            keyid = entry.get("keyid", "")
            parsed.append(
                (keyid if isinstance(keyid, str) else "", _b64decode(entry.get("sig"), "sig"))
            )
        return cls(payload_type, _b64decode(data.get("payload"), "payload"), tuple(parsed))

    def verified_by(self, keys: dict[str, Ed25519PublicKey]) -> str | None:
        """The id of a trusted key whose signature over PAE(type, payload) verifies, else
        None. The keyid is only a hint (it is not signed, and must not decide anything): the
        key it names is tried first, then every other trusted key."""
        message = pae(self.payload_type, self.payload)
        for hint, signature in self.signatures:
            for keyid in sorted(keys, key=lambda k: k != hint):
                try:
                    keys[keyid].verify(signature, message)
                except InvalidSignature:
                    continue
                return keyid
        return None


def sign_envelope(
    payload_type: str, payload: bytes, key: Ed25519PrivateKey, keyid: str
) -> Envelope:
    return Envelope(payload_type, payload, ((keyid, key.sign(pae(payload_type, payload))),))
