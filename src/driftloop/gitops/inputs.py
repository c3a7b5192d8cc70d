"""Limits on what people may type into a retrain: workflow_dispatch inputs reach PR and issue
bodies, MLflow tags and logs, so they are checked where they enter (`retrain`, `trigger`)
and again where they are rendered (`propose`), with errors naming the input."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from driftloop.errors import DataError, UsageError

__all__ = [
    "MAX_EVIDENCE_CHARS",
    "MAX_REASON_CHARS",
    "check_reason",
    "check_trigger_id",
    "parse_evidence",
]

MAX_REASON_CHARS = 200
# GitHub allows 65,535 characters per workflow_dispatch input; stay far below it so the
# dispatch never fails on size (compact_evidence keeps the top features first).
MAX_EVIDENCE_CHARS = 4000
_TRIGGER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,99}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FEATURE = re.compile(r"^[A-Za-z0-9_.:/ -]{1,100}$")


def check_reason(text: str, what: str = "reason") -> str:
    reason = text.strip()
    if not reason:
        raise UsageError(f"{what}: empty; say why this retrain runs")
    if len(reason) > MAX_REASON_CHARS:
        raise UsageError(f"{what}: {len(reason)} characters; at most {MAX_REASON_CHARS}")
    if _CONTROL.search(reason):
        raise UsageError(f"{what}: line breaks and control characters are not allowed")
    return reason


def check_trigger_id(text: str, what: str = "trigger id") -> str:
    if text and not _TRIGGER_ID.match(text):
        raise UsageError(
            f"{what}: {text[:40]!r} is not an id (letters, digits, . _ : + -; at most 100)"
        )
    return text


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{where}: must be a finite number")
    return float(value)


def parse_evidence(text: str, source: str = "evidence") -> dict[str, Any]:
    """The drift evidence a retrain carries: a JSON object whose ``top_features`` entries
    have a plain feature name, a PSI and a row count. Other keys pass as data."""
    if len(text) > 2 * MAX_EVIDENCE_CHARS:
        raise DataError(f"{source}: {len(text)} characters; at most {2 * MAX_EVIDENCE_CHARS}")
    try:
        evidence = json.loads(text or "{}")
    except ValueError as error:
        raise DataError(f"{source}: not JSON: {error}") from None
    if not isinstance(evidence, dict):
        raise DataError(f"{source}: must be a JSON object")
    features = evidence.get("top_features", [])
    if not isinstance(features, list):
        raise DataError(f"{source}: top_features: must be a list")
    for index, feature in enumerate(features):
        where = f"{source}: top_features[{index}]"
        if not isinstance(feature, dict):
            raise DataError(f"{where}: must be an object")
        name = feature.get("feature")
        if not isinstance(name, str) or not _FEATURE.match(name):
            raise DataError(f"{where}.feature: must be a feature name (letters, digits, _ . : / -)")
        _number(feature.get("psi"), f"{where}.psi")
        if "samples" in feature:
            _number(feature["samples"], f"{where}.samples")
    return evidence
