"""Round-trip YAML for the files driftloop edits in pull requests: comments, order, quotes
and flow style survive, so a diff shows the one value that changed."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

__all__ = ["dump", "load"]


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text: str) -> Any:
    return _yaml().load(text)


def dump(document: Any) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()
