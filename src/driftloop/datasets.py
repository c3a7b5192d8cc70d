"""Reading tabular data: parquet or CSV from a path or an fsspec URI, or demo scenarios.

``demo://<model>/reference``, ``demo://<model>/<scenario>`` (the labelled stream) and
``demo://<model>/<scenario>/golden`` generate the seeded demo data on demand; query
parameters ``rows``, ``hours``, ``seed`` and ``degraded`` pass through to the generator.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd

from driftloop.errors import DataError, UsageError

__all__ = ["read_frame"]

_READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".gz": "csv"}


def _demo_frame(uri: str) -> pd.DataFrame:
    from driftloop.demo import scenarios

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


def read_frame(uri: str) -> pd.DataFrame:
    """Read a frame; every failure is a DataError naming the file and the problem."""
    if uri.startswith("demo://"):
        return _demo_frame(uri)
    suffix = Path(urlparse(uri).path).suffix.lower()
    kind = _READERS.get(suffix)
    if kind is None:
        raise DataError(f"{uri}: unknown format {suffix or '(no suffix)'}; use .parquet or .csv")
    is_local = "://" not in uri
    if is_local and not Path(uri).is_file():
        raise DataError(f"{uri}: file not found")
    try:
        frame = pd.read_parquet(uri) if kind == "parquet" else pd.read_csv(uri)
    except (OSError, ValueError, ImportError) as error:
        raise DataError(f"{uri}: cannot read as {kind}: {str(error).splitlines()[0]}") from None
    except Exception as error:
        raise DataError(f"{uri}: cannot read as {kind}: {type(error).__name__}") from None
    return frame
