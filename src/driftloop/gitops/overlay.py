"""The version each model serves, in an overlay, edited with round-trip YAML (comments and
order kept). The contract with k8s/: per model, a ``configMapGenerator`` entry named
``model-version-<model>`` whose literal ``MODEL_URI=models:/<model>/<version>`` (or
``@<alias>``) says what that model's Rollout serves, and ``MODEL_DIGEST=sha256:<hex>`` (written
by propose from the gate report) names the exact bundle the gate scored, so the reviewed
commit binds the approval to those files. One generator per model, so a bump changes that
model's Rollout only (ADR 0006)."""

from __future__ import annotations

import re
from typing import Any

from driftloop.errors import ConfigError
from driftloop.gitops import roundtrip

__all__ = [
    "DIGEST",
    "OVERLAY_FILE",
    "STAGING_FILE",
    "generator_name",
    "pinned_digest",
    "pins",
    "served_version",
    "set_version",
]

OVERLAY_FILE = "k8s/overlays/production/kustomization.yaml"
STAGING_FILE = "k8s/overlays/staging/kustomization.yaml"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_DIGEST_KEY = "MODEL_DIGEST="
_URI = re.compile(r"^MODEL_URI=models:/(?P<model>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")


def generator_name(model: str) -> str:
    return f"model-version-{model}"


def _pin_literals(document: Any, source: str) -> dict[str, tuple[list[Any], int, str | None]]:
    """model -> (its literals list, the MODEL_URI index, version or None for an alias)."""
    if not isinstance(document, dict):
        raise ConfigError(source, "", "not a kustomization (expected a mapping)")
    found: dict[str, tuple[list[Any], int, str | None]] = {}
    for entry in document.get("configMapGenerator") or []:
        name = str(entry.get("name", ""))
        literals = entry.get("literals")
        if not name.startswith("model-version-") or not isinstance(literals, list):
            continue
        model = name.removeprefix("model-version-")
        for index, literal in enumerate(literals):
            match = _URI.match(str(literal))
            if match is None:
                continue
            if match.group("model") != model:
                raise ConfigError(
                    source,
                    f"configMapGenerator.{name}",
                    f"pins {match.group('model')!r} under the name of {model!r}",
                )
            found[model] = (literals, index, match.group("version"))
    return found


def pins(text: str, source: str = OVERLAY_FILE) -> dict[str, str]:
    """What the overlay pins, model by model: a version number, or ``@alias``."""
    found = {}
    for model, (literals, index, version) in _pin_literals(roundtrip.load(text), source).items():
        found[model] = version or "@" + str(literals[index]).rsplit("@", 1)[1]
    return found


def served_version(text: str, model: str, source: str = OVERLAY_FILE) -> str | None:
    """The version ``model`` serves (None for an alias); ConfigError if it is not pinned."""
    pinned = pins(text, source).get(model)
    if pinned is None:
        raise ConfigError(
            source, f"configMapGenerator.{generator_name(model)}", f"does not pin {model!r}"
        )
    return None if pinned.startswith("@") else pinned


def pinned_digest(text: str, model: str, source: str = OVERLAY_FILE) -> str | None:
    """The bundle digest pinned beside ``model``'s version (``MODEL_DIGEST=sha256:...``)."""
    found = _pin_literals(roundtrip.load(text), source).get(model)
    if found is None:
        return None
    for literal in found[0]:
        if str(literal).startswith(_DIGEST_KEY):
            return str(literal).removeprefix(_DIGEST_KEY)
    return None


def set_version(
    text: str, model: str, version: str, source: str = OVERLAY_FILE, digest: str | None = None
) -> str:
    """The overlay text with ``model``'s MODEL_URI at ``models:/<model>/<version>`` and, with
    ``digest``, ``MODEL_DIGEST`` naming the bundle (a stale one is removed); every other
    model's pin, and every comment, as it was."""
    if digest is not None and not DIGEST.fullmatch(digest):
        raise ConfigError(source, f"configMapGenerator.{generator_name(model)}",
                          f"{digest!r} is not a bundle digest (sha256:<64 hex>)")  # fmt: skip
    document = roundtrip.load(text)
    found = _pin_literals(document, source)
    if model not in found:
        raise ConfigError(
            source,
            f"configMapGenerator.{generator_name(model)}",
            f"the overlay does not pin {model!r} (pins: {', '.join(sorted(found)) or 'none'}); "
            "add its generator (see `make manifests`)",
        )
    literals, index, _ = found[model]
    literals[index] = f"MODEL_URI=models:/{model}/{version}"
    stale = [i for i, literal in enumerate(literals) if str(literal).startswith(_DIGEST_KEY)]
    for i in reversed(stale):
        del literals[i]
    if digest is not None:
        literals.insert(literals.index(f"MODEL_URI=models:/{model}/{version}") + 1,
                        f"{_DIGEST_KEY}{digest}")  # fmt: skip
    return roundtrip.dump(document)
