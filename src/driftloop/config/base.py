"""Shared pieces of the configuration models: versioned documents, durations, loading."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)

from driftloop.errors import ConfigError

__all__ = [
    "API_VERSION",
    "Document",
    "Duration",
    "KeyedValueError",
    "Strict",
    "format_duration",
    "load_document",
    "parse_duration",
    "read_yaml",
]

# libyaml's safe loader when PyYAML was built with it: a fleet's model files load 5x faster


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses a key given twice: PyYAML keeps the last one silently,
    so a second ``critical:`` further down would quietly win."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue  # a merge (<<) may be overridden by the mapping's own keys
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))


API_VERSION: Literal["driftloop/v1"] = "driftloop/v1"

_DURATION = re.compile(r"^(\d+)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer than any window, cooldown or backfill makes sense for, and far from where date
# arithmetic overflows (99999999999999999w would crash the first subtraction from now).
MAX_DURATION = timedelta(days=36_500)


def parse_duration(value: object) -> timedelta:
    """Parse a Prometheus-style duration such as ``5m``, ``6h`` or ``7d``."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m, 6h, 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest Prometheus-style spelling of a duration."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern}),
]


class KeyedValueError(ValueError):
    """A validation problem that belongs to one key below the validated object.

    Raised from model validators so that the error names ``...psi.critical`` rather than
    ``...psi``.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(problem)


class Strict(BaseModel):
    """Base for every configuration model: unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, allow_inf_nan=False
    )


class Document(Strict):
    """A top-level configuration file: ``apiVersion`` and ``kind`` are checked by subclasses."""


D = TypeVar("D", bound=Document)


# Tags of discriminated unions (config.drift_policy.QualityBound): pydantic puts them in an
# error's location, but they are not keys the user wrote.
UNION_TAGS = frozenset({"absolute", "relative"})


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for index, part in enumerate(loc):
        if part in UNION_TAGS and index >= 2 and loc[index - 2] == "thresholds":
            continue  # thresholds.<metric>.<tag>: a model or feature may be named "relative"
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _problem(error: Any) -> tuple[tuple[int | str, ...], str]:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedValueError):
        return (*loc, cause.key), cause.problem
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    elif error["type"] == "missing":
        message = "required key is missing"
    return loc, message


def validation_to_config_error(source: str, error: ValidationError) -> ConfigError:
    """The first problem of a pydantic error as a ConfigError naming file, key and problem."""
    problems = error.errors()
    loc, message = _problem(problems[0])
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s))"
    return ConfigError(source, _key_path(loc), message)


def parse_document(model: type[D], data: object, source: str) -> D:
    """Validate already-parsed YAML/JSON data as ``model``."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "expected a mapping at the top level")
    kind = model.model_fields["kind"].default
    if data.get("apiVersion") != API_VERSION:
        raise ConfigError(
            source, "apiVersion", f"must be {API_VERSION!r}, got {data.get('apiVersion')!r}"
        )
    if data.get("kind") != kind:
        raise ConfigError(source, "kind", f"must be {kind!r}, got {data.get('kind')!r}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_to_config_error(source, error) from None


def load_document(model: type[D], path: Path) -> D:
    """Read and validate a YAML configuration file."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except OSError as error:
        raise ConfigError(source, "", f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(source, "", f"not UTF-8 text (byte {error.start})") from None
    return parse_document(model, read_yaml(text, source), source)


def read_yaml(text: str, source: str) -> object:
    """YAML text as data, safely; a ConfigError naming the line otherwise."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader, in C when built)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(error, "problem", None)
        detail = f": {problem}" if problem else ""
        raise ConfigError(source, "", f"{where}: not valid YAML{detail}") from None
