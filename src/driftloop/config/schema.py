"""Generate the JSON Schemas of the configuration files into ``policies/schema/``.

Run ``python -m driftloop.config.schema [DIR]``; a test regenerates and compares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from driftloop.config.audit_policy import DependencyAuditPolicy
from driftloop.config.base import Document
from driftloop.config.drift_policy import DriftPolicy
from driftloop.config.gate_policy import GatePolicy
from driftloop.config.model import ModelSpec

__all__ = ["SCHEMAS", "render_schemas", "write_schemas"]

SCHEMAS: dict[str, type[Document]] = {
    "model.schema.json": ModelSpec,
    "drift-policy.schema.json": DriftPolicy,
    "gate-policy.schema.json": GatePolicy,
    "dependency-audit.schema.json": DependencyAuditPolicy,
}


def render_schemas() -> dict[str, str]:
    """File name -> schema text, deterministic so that a diff means a change."""
    rendered = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://driftloop.dev/schema/v1/{name}"
        rendered[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "policies/schema"))
