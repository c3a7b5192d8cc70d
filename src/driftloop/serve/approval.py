"""Enforcement where the model is served: in production the server refuses a registry
version unless a signed approval attestation verifies for exactly the bundle it loaded (the
DSSE envelope ``promote`` stores with the version after a reviewed merge, ADR 0005). Plain
tags do not count: anyone holding the MLflow token can write them. A version whose approval
was withdrawn (an aborted canary, ``promote --withdraw``) is refused too.

`promote` runs on the merge push while Argo CD syncs the same commit, so the attestation may
land a few minutes after a pod starts: the server waits for it, for a bounded time, and
refuses at once an attestation that is there but does not verify.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from driftloop.adapters.registry import ModelRegistry
from driftloop.attestation import Verification, bundle_digest, load_public_keys, verify_approval
from driftloop.errors import RefusedError, UsageError

__all__ = [
    "approval_required",
    "await_approval",
    "registry_version",
    "verify_loaded",
    "verify_version",
]

_OFF = ("", "0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def approval_required(value: str | None) -> bool:
    """``DRIFTLOOP_REQUIRE_APPROVAL``: off only when clearly off; a value that is neither
    clearly off nor clearly on is an error (the server then never serves), not "off"."""
    text = (value or "").strip().lower()
    if text in _OFF:
        return False
    if text in _ON:
        return True
    raise UsageError(
        f"DRIFTLOOP_REQUIRE_APPROVAL={value!r} is neither on (1, true, yes, on) nor off "
        "(0, false, no, off, unset): refusing to guess whether approval is required"
    )


def registry_version(uri: str, registry: ModelRegistry) -> tuple[str, str]:
    """(model, version) of ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``."""
    if not uri.startswith("models:/"):
        raise UsageError(
            f"--model-uri {uri!r}: an approval lives with a registry version; "
            "serve models:/NAME/VERSION, or run without --require-approval"
        )
    ref = uri.removeprefix("models:/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        version = registry.alias_version(name, alias)
        if version is None:
            raise UsageError(f"--model-uri {uri!r}: {name} has no version with alias {alias}")
        return name, version
    name, _, version = ref.partition("/")
    return name, version


def verify_loaded(
    registry: ModelRegistry, model: str, version: str, bundle: Path, keys_dir: Path
) -> Verification:
    """Verify the version's attestation against the digest of the files in ``bundle``."""
    keys = load_public_keys(keys_dir)
    digest = bundle_digest(bundle)
    tags = registry.version_tags(model, version)
    pointer = tags.get("approval_attestation")
    envelope = registry.read_artifact(pointer) if pointer else None
    withdrawn = tags.get("approval_withdrawn") or None
    return verify_approval(envelope, keys, model, version, digest, withdrawn)


def verify_version(registry: ModelRegistry, uri: str, keys_dir: Path) -> Verification:
    """``driftloop verify``: download the version and verify it."""
    model, version = registry_version(uri, registry)
    path, _ = registry.download(f"models:/{model}/{version}")
    return verify_loaded(registry, model, version, path, keys_dir)


def await_approval(
    registry: ModelRegistry,
    model: str,
    version: str,
    bundle: Path,
    keys_dir: Path,
    wait_seconds: float,
    poll_seconds: float = 10.0,
    report: Callable[[str], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Verification:
    """The verified approval of the loaded ``bundle``, waiting up to ``wait_seconds`` while
    no attestation exists yet; RefusedError naming the reasons otherwise."""
    deadline = clock() + wait_seconds
    while True:
        result = verify_loaded(registry, model, version, bundle, keys_dir)
        if result.verified:
            return result
        missing = not registry.version_tags(model, version).get("approval_attestation")
        left = deadline - clock()
        if not missing or left <= 0:
            raise RefusedError(
                f"refusing to serve {model} v{version}: {'; '.join(result.reasons)}. "
                "driftloop promote signs an approval after the merge of a reviewed pull "
                "request; a version without a valid one was not approved (docs/runbook.md: "
                "'Canary pods wait for an approval')"
            )
        report(
            f"waiting for the signed approval of {model} v{version} (driftloop promote writes "
            f"it after the merge): {left:.0f}s left"
        )
        sleep(min(poll_seconds, left))
