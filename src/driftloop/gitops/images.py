"""The image every workload runs, pinned by digest in k8s/base's ``images:`` (the edit
`kustomize edit set image NAME@DIGEST` makes), with round-trip YAML: comments kept."""

from __future__ import annotations

import re

from driftloop.errors import ConfigError, UsageError
from driftloop.gitops import roundtrip

__all__ = ["BASE_FILE", "IMAGE", "pinned_digest", "set_image_digest"]

BASE_FILE = "k8s/base/kustomization.yaml"
IMAGE = "ghcr.io/driftloop/driftloop-server"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _entry(document: object, image: str) -> dict[str, object]:
    images = document.get("images") if isinstance(document, dict) else None
    for entry in images or []:
        if isinstance(entry, dict) and entry.get("name") == image:
            return entry
    raise ConfigError(BASE_FILE, "images", f"no entry for {image}")


def pinned_digest(text: str, image: str = IMAGE) -> str | None:
    digest = _entry(roundtrip.load(text), image).get("digest")
    return str(digest) if digest else None


def set_image_digest(text: str, digest: str, image: str = IMAGE) -> str:
    if not _DIGEST.fullmatch(digest):  # fullmatch: "$" would let a trailing newline in
        raise UsageError(f"{digest!r} is not an image digest (sha256: and 64 hex digits)")
    document = roundtrip.load(text)
    entry = _entry(document, image)
    entry.pop("newTag", None)  # a digest, not a tag, says exactly what runs
    entry["digest"] = digest
    return roundtrip.dump(document)
