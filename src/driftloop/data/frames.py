"""Reading tabular data: parquet or CSV from a path or an fsspec URI, or demo scenarios.

``demo://<model>/reference``, ``demo://<model>/<scenario>`` (the labelled stream) and
``demo://<model>/<scenario>/golden`` generate the seeded demo data on demand; query
parameters ``rows``, ``hours``, ``seed`` and ``degraded`` pass through to the generator.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd

from driftloop.errors import DataError, UsageError

__all__ = ["read_frame"]

_READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".gz": "csv"}


def _demo_frame(uri: str) -> pd.DataFrame:
    from driftloop.synthetic import scenarios

    parsed = urlparse(uri)
    parts = [p for p in parsed.path.split("/") if p]
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    model = parsed.netloc
    try:
        seed = {"seed": int(query["seed"])} if "seed" in query else {}
        if parts == ["reference"]:
            return scenarios.reference(model, rows=int(query.get("rows", 20_000)), **seed)
        if len(parts) == 2 and parts[1] == "golden":
            return scenarios.golden(model, parts[0], rows=int(query.get("rows", 5_000)), **seed)
        if len(parts) == 1:
            return scenarios.stream(
                model,
                parts[0],
                hours=int(query.get("hours", 48)),
                rows_per_hour=int(query["rows_per_hour"]) if "rows_per_hour" in query else None,
                degraded=query.get("degraded", "0") in ("1", "true", "yes"),
                **seed,
            )
    except ValueError as error:
        raise DataError(f"{uri}: bad parameter: {error}") from None
    except UsageError as error:
        raise DataError(f"{uri}: {error}") from None
    raise DataError(
        f"{uri}: expected demo://<model>/reference, demo://<model>/<scenario> "
        "or demo://<model>/<scenario>/golden"
    )


def read_frame(
    uri: str, columns: Collection[str] | None = None, categories: bool = False
) -> pd.DataFrame:
    """Read a frame; every failure is a DataError naming the file and the problem.

    ``columns``: read only these (those the file has; a parquet file is read column by
    column, so the others cost nothing). ``categories``: parquet text columns come back as
    pandas categoricals, decoded once per distinct value rather than once per row (for
    callers that only count values, like the drift tests)."""
    if uri.startswith("demo://"):
        frame = _demo_frame(uri)
        return frame[[c for c in frame.columns if c in columns]] if columns is not None else frame
    suffix = Path(urlparse(uri).path).suffix.lower()
    kind = _READERS.get(suffix)
    if kind is None:
        raise DataError(f"{uri}: unknown format {suffix or '(no suffix)'}; use .parquet or .csv")
    is_local = "://" not in uri
    if is_local and not Path(uri).is_file():
        raise DataError(f"{uri}: file not found")
    try:
        if kind == "parquet":
            return pd.read_parquet(uri, **_parquet_options(uri, columns, categories))
        wanted = set(columns) if columns is not None else None
        frame = pd.read_csv(uri, usecols=(lambda c: c in wanted) if wanted else None)
        return frame if wanted is None or len(frame.columns) else pd.read_csv(uri)
    except (OSError, ValueError, ImportError) as error:
        raise DataError(f"{uri}: cannot read as {kind}: {str(error).splitlines()[0]}") from None
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{uri}: cannot read as {kind}: {type(error).__name__}") from None


def _parquet_options(uri: str, columns: Collection[str] | None, categories: bool) -> dict[str, Any]:
    if columns is None and not categories:
        return {}
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "://" in uri:  # fsspec URIs, as pandas reads them
        import fsspec

        with fsspec.open(uri, "rb") as handle:
            schema = pq.read_schema(handle)
    else:
        schema = pq.read_schema(uri)
    names = [n for n in schema.names if columns is None or n in set(columns)]
    if not names:  # none of them: read it all, so the caller can say what the file has
        names = list(schema.names)
    options: dict[str, Any] = {"columns": names}
    if categories:
        text = [
            n for n in names
            if pa.types.is_string(schema.field(n).type)
            or pa.types.is_large_string(schema.field(n).type)
        ]  # fmt: skip
        options["read_dictionary"] = text
    return options
