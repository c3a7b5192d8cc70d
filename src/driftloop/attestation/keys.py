"""Ed25519 keys for approvals: PEM files, and key ids so that keys can rotate.

A public key lives in ``policies/approval-keys/<key-id>.pub`` (the file's stem is the key
id; code-owned, shipped to the cluster as a ConfigMap). The private key lives only in the
``driftloop`` environment's secret; promote reads it from ``DRIFTLOOP_SIGNING_KEY_FILE``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from driftloop.errors import ConfigError

__all__ = ["KeyPair", "generate_key_pair", "key_id", "load_private_key", "load_public_keys"]

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def key_id(public: Ed25519PublicKey) -> str:
    """The default id of a key: the first 16 hex digits of sha256 over its public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ed25519-{hashlib.sha256(raw).hexdigest()[:16]}"


@dataclass(frozen=True)
class KeyPair:
    keyid: str
    private_pem: bytes
    public_pem: bytes


def generate_key_pair() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return KeyPair(
        key_id(public),
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def load_private_key(path: Path) -> tuple[str, Ed25519PrivateKey]:
    """The key and its id (the id of its public half, as ``keygen`` names the files)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(str(path), "", f"cannot read the signing key: {error.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(str(path), "", "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(str(path), "", "not an Ed25519 private key")
    return key_id(key.public_key()), key


def load_public_keys(folder: Path) -> dict[str, Ed25519PublicKey]:
    """Every ``<key-id>.pub`` in ``folder``, by key id. An unreadable or foreign key is an
    error, not skipped: a verifier must know exactly which keys it trusts."""
    if not folder.is_dir():
        raise ConfigError(str(folder), "", "no such directory of approval public keys")
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(folder.glob("*.pub")):
        if not _KEY_ID.match(path.stem):
            raise ConfigError(str(path), "", "the file name (the key id) must be [A-Za-z0-9._-]")
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as error:
            raise ConfigError(str(path), "", f"not a PEM public key ({error})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(str(path), "", "not an Ed25519 public key")
        keys[path.stem] = key
    if not keys:
        raise ConfigError(str(folder), "", "holds no <key-id>.pub approval keys")
    return keys
