"""Validate OpenLineage events against the spec's JSON Schemas in ../shared/schemas/openlineage
and each facet against the schema its ``_schemaURL`` names (driftloop's own from docs/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "schemas" / "openlineage"


def _registry() -> Registry:
    files = [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json")),
             ROOT / "docs" / "schemas" / "DriftloopTriggerRunFacet.json"]  # fmt: skip
    resources = []
    for path in files:
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def _check(instance: Any, url: str) -> None:
    base, _, fragment = url.partition("#")
    schema = {"$ref": f"{base}#{fragment}"}
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(instance)


def _facets(holder: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for key in ("facets", "inputFacets", "outputFacets")
            for f in (holder.get(key) or {}).values()]  # fmt: skip


def validate_event(event: dict[str, Any]) -> None:
    """The RunEvent, then every facet of its run, job and datasets against its own schema."""
    _check(event, "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")
    holders = [event["run"], event["job"], *event.get("inputs", []), *event.get("outputs", [])]
    for facet in (f for holder in holders for f in _facets(holder)):
        _check(facet, facet["_schemaURL"])
