"""MLflow's scoring protocol in, validated rows out; every problem is a RequestError.

Accepted bodies (``application/json``), as ``mlflow models serve`` accepts them:
``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}``,
``{"dataframe_records": [{...}, ...]}`` and ``{"instances": [{...}, ...]}`` (or ``inputs``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from driftloop.config import ModelSpec
from driftloop.drift.columns import MISSING, category_label

__all__ = ["MAX_TEXT_CHARS", "RequestError", "parse_feedback", "parse_scoring"]

MAX_TEXT_CHARS = 20_000  # a long support email is ~10,000 characters


class RequestError(Exception):
    """A request the server refuses: ``status`` is the HTTP code, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def _reject_constant(token: str) -> float:
    raise RequestError(422, f"non-finite number {token} is not allowed; send null for missing")


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RequestError:
        raise
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, f"malformed JSON: {error}") from None
    except RecursionError:  # json raises it, not ValueError, for [[[[...]]]] nested deeply
        raise RequestError(400, "malformed JSON: nested too deeply") from None


def _records(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        raise RequestError(
            422, "expected a JSON object with dataframe_split, dataframe_records or instances"
        )
    keys = [
        k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in payload
    ]
    if len(keys) != 1:
        raise RequestError(
            422, "give exactly one of dataframe_split, dataframe_records, instances, inputs"
        )
    body = payload[keys[0]]
    if keys[0] == "dataframe_split":
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("columns"), list)
            or not isinstance(body.get("data"), list)
        ):
            raise RequestError(
                422, "dataframe_split needs 'columns' (list) and 'data' (list of rows)"
            )
        columns = body["columns"]
        rows = []
        for index, row in enumerate(body["data"]):
            if not isinstance(row, list) or len(row) != len(columns):
                raise RequestError(422, f"row {index}: expected a list of {len(columns)} values")
            rows.append(dict(zip(columns, row, strict=True)))
        return rows
    if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
        raise RequestError(422, f"{keys[0]} must be a list of objects (one per row)")
    return body


def _check_number(value: Any, row: int, name: str) -> None:
    """Numbers or null (missing); booleans, text and non-finite values are refused."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(422, f"row {row}, field {name!r}: expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RequestError(422, f"row {row}, field {name!r}: non-finite number")


def _check_text(value: Any, row: int, name: str) -> None:
    """A string of at most ``MAX_TEXT_CHARS``; null is refused (send "" for no text): a
    text feature's missing rows would be counted as no words, which they are not."""
    if not isinstance(value, str):
        raise RequestError(
            422, f"row {row}, field {name!r}: expected text (a string), got {str(value)[:40]!r}"
        )
    if len(value) > MAX_TEXT_CHARS:
        raise RequestError(
            413, f"row {row}, field {name!r}: {len(value)} characters; at most {MAX_TEXT_CHARS}"
        )


def _columns(rows: list[dict[str, Any]], spec: ModelSpec) -> dict[str, np.ndarray]:
    """Prepared columns, as ``train.data.prepare_features`` makes them from a frame: floats
    with NaN for missing, category labels with None for missing, text as strings."""
    columns: dict[str, np.ndarray] = {}
    for feature in spec.features:
        values = [row[feature.name] for row in rows]
        if feature.type == "text":
            columns[feature.name] = np.array(values, dtype=object)
        elif feature.type == "numeric":
            columns[feature.name] = np.array(
                [np.nan if v is None else v for v in values], dtype=float
            )
        else:
            labels = [None if v is None else category_label(v) for v in values]
            columns[feature.name] = np.array(
                [None if v == MISSING else v for v in labels], dtype=object
            )
    return columns


def parse_scoring(body: bytes, spec: ModelSpec, max_rows: int) -> dict[str, np.ndarray]:
    """Rows validated against the model's features, as prepared columns in feature order."""
    rows = _records(decode_json(body))
    if not rows:
        raise RequestError(422, "empty batch: send at least one row")
    if len(rows) > max_rows:
        raise RequestError(413, f"{len(rows)} rows in one request; at most {max_rows}")
    names = spec.feature_names
    expected = set(names)
    numeric = {f.name for f in spec.features if f.type == "numeric"}
    text = {f.name for f in spec.features if f.type == "text"}
    for index, row in enumerate(rows):
        if row.keys() != expected:
            unknown = sorted(set(map(str, row)) - expected)
            if unknown:
                raise RequestError(422, f"row {index}: unknown field(s) {', '.join(unknown)}")
            missing = [name for name in names if name not in row]
            raise RequestError(422, f"row {index}: missing field(s) {', '.join(missing)}")
        for name in numeric:
            _check_number(row[name], index, name)
        for name in text:
            _check_text(row[name], index, name)
        for name in expected - numeric - text:
            value = row[name]
            if isinstance(value, dict | list):
                raise RequestError(
                    422, f"row {index}, field {name!r}: expected a category, got {value!r}"
                )
    return _columns(rows, spec)


Feedback = tuple[list[Any], list[Any], list[float | None], list[str | None]]
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def class_of(value: object, classes: dict[str, object]) -> object | None:
    """The model's class a JSON value names, or None: the class itself, or a whole number
    written as a float (``1.0`` for class ``1``); never a boolean unless classes are."""
    if isinstance(value, bool) and not any(
        isinstance(c, bool | np.bool_) for c in classes.values()
    ):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, str | int | float | bool):
        return None
    return classes.get(str(value))


def known_classes(classes: Iterable[object]) -> dict[str, object]:
    """A model's classes by their JSON spelling (numpy scalars as Python values)."""
    return {str(c.item() if isinstance(c, np.generic) else c): c for c in classes}


def check_classes(feedback: Feedback, known: dict[str, object]) -> None:
    """Every prediction and label of a classifier's feedback is one of its classes
    (``known_classes``); anything else ("yes" for a 0/1 model, 7, 0.7, a 100 KB string) is
    refused, not counted."""
    predictions, labels, _, _ = feedback
    for name, values in (("prediction", predictions), ("label", labels)):
        for index, value in enumerate(values):
            if class_of(value, known) is None:
                shown = str(value)[:40] + ("..." if len(str(value)) > 40 else "")
                raise RequestError(
                    422, f"record {index}, field {name!r}: {shown!r} is not one of the model's "
                    f"classes {sorted(known)[:20]}",
                )  # fmt: skip


def parse_feedback(body: bytes, max_rows: int, numeric: bool) -> Feedback:
    """``{"records": [{"prediction": p, "label": y, "score": s, "version": v}, ...]}`` ->
    (predictions, labels, scores, versions); ``numeric`` (regression) requires numbers.
    Optional: ``score``, the positive-class score ``/invocations?scores=true`` returned
    (binary classifiers' AUC); ``version``, the model version that predicted (the
    ``driftloop-model-version`` header of that answer)."""
    payload = decode_json(body)
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not records:
        raise RequestError(422, 'expected {"records": [{"prediction": ..., "label": ...}, ...]}')
    if len(records) > max_rows:
        raise RequestError(413, f"{len(records)} records in one request; at most {max_rows}")
    predictions, labels, scores, versions = [], [], [], []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "prediction" not in record or "label" not in record:
            raise RequestError(422, f"record {index}: needs 'prediction' and 'label'")
        for key in ("prediction", "label"):
            value = record[key]
            if value is None or isinstance(value, dict | list):
                raise RequestError(422, f"record {index}, field {key!r}: got {value!r}")
            if numeric:
                _check_number(value, index, key)
        score = record.get("score")
        if score is not None:
            _check_number(score, index, "score")
            if not 0.0 <= float(score) <= 1.0:
                raise RequestError(422, f"record {index}, field 'score': {score!r} not in [0, 1]")
        version = record.get("version")
        if version is not None and not (isinstance(version, str) and _VERSION.match(version)):
            raise RequestError(422, f"record {index}, field 'version': {str(version)[:40]!r} is "
                               "not a model version")  # fmt: skip
        predictions.append(record["prediction"])
        labels.append(record["label"])
        scores.append(None if score is None else float(score))
        versions.append(version)
    return predictions, labels, scores, versions
