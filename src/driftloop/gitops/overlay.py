"""The production overlay's model version, edited with round-trip YAML (comments and order
kept). The contract with k8s/: a ``configMapGenerator`` entry named ``model-version`` whose
literal ``MODEL_URI=models:/<model>/<version>`` says what serves."""

from __future__ import annotations

import io
import re

from ruamel.yaml import YAML

from driftloop.errors import ConfigError

__all__ = ["OVERLAY_FILE", "pins", "served_version", "set_version"]

OVERLAY_FILE = "k8s/overlays/production/kustomization.yaml"
GENERATOR = "model-version"
_URI = re.compile(r"^MODEL_URI=models:/(?P<model>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _literals(document: object, source: str) -> list[object]:
    generators = document.get("configMapGenerator") if isinstance(document, dict) else None
    for entry in generators or []:
        if entry.get("name") == GENERATOR:
            literals = entry.get("literals")
            if isinstance(literals, list):
                return literals
    raise ConfigError(source, "configMapGenerator", f"no {GENERATOR!r} generator with literals")


def served_version(text: str, source: str = OVERLAY_FILE) -> tuple[str, str | None]:
    """(model, version) the overlay serves; version is None for an alias."""
    for literal in _literals(_yaml().load(text), source):
        match = _URI.match(str(literal))
        if match:
            return match.group("model"), match.group("version")
    raise ConfigError(source, f"configMapGenerator.{GENERATOR}", "no MODEL_URI=models:/... literal")


def pins(text: str, source: str = OVERLAY_FILE) -> dict[str, str]:
    """What the overlay pins, model by model: a version number, or ``@alias``."""
    found: dict[str, str] = {}
    for literal in _literals(_yaml().load(text), source):
        match = _URI.match(str(literal))
        if match:
            version = match.group("version")
            found[match.group("model")] = version if version else f"@{match.group('alias')}"
    return found


def set_version(text: str, model: str, version: str, source: str = OVERLAY_FILE) -> str:
    """The overlay text with MODEL_URI pointing at ``models:/<model>/<version>``."""
    yaml = _yaml()
    document = yaml.load(text)
    literals = _literals(document, source)
    for index, literal in enumerate(literals):
        match = _URI.match(str(literal))
        if match:
            if match.group("model") != model:
                raise ConfigError(
                    source,
                    f"configMapGenerator.{GENERATOR}",
                    f"the overlay serves {match.group('model')!r}, not {model!r}",
                )
            literals[index] = f"MODEL_URI=models:/{model}/{version}"
            out = io.StringIO()
            yaml.dump(document, out)
            return out.getvalue()
    raise ConfigError(source, f"configMapGenerator.{GENERATOR}", "no MODEL_URI=models:/... literal")
