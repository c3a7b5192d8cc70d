"""The smallest instance a JSON Schema (OpenAPI 3.0 flavour) accepts, to be overlaid with
real values: lets the fake GitHub server answer with complete, schema-valid objects without
hand-writing GitHub's eighty-field repository objects."""

from __future__ import annotations

from typing import Any

FORMATS = {
    "date-time": "2026-01-05T00:00:00Z",
    "uri": "https://example.invalid/",
    "uri-template": "https://example.invalid/{id}",
    "email": "octocat@example.invalid",
    "date": "2026-01-05",
}


class Instances:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            _, _, section, name = schema["$ref"].split("/", 3)
            schema = self.spec["components"][section][name]
        return schema

    def minimal(self, schema: dict[str, Any], depth: int = 0) -> Any:  # noqa: C901, PLR0911, PLR0912 - one case per schema kind
        schema = self.resolve(schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.minimal(part, depth)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.minimal(schema[key][0], depth)
        if "enum" in schema:
            return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if schema.get("nullable") and depth > 6:
                return None
            return {
                name: self.minimal(schema["properties"][name], depth + 1)
                for name in schema.get("required", [])
                if name in schema.get("properties", {})
            }
        if kind == "array":
            return []
        if kind == "string":
            return FORMATS.get(schema.get("format", ""), "x")
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        return None

    def of(self, schema_name: str, /, **values: Any) -> dict[str, Any]:
        """A valid ``#/components/schemas/<name>`` object with ``values`` laid over it."""
        base = self.minimal({"$ref": f"#/components/schemas/{schema_name}"})
        assert isinstance(base, dict)
        return deep_update(base, values)


def deep_update(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base
