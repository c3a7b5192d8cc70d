"""Evidently's self-contained HTML drift report, for a human reviewer (optional extra)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from driftloop.drift.columns import ColumnType
from driftloop.errors import UsageError

__all__ = ["write_html_report"]


def write_html_report(
    reference: pd.DataFrame, current: pd.DataFrame, types: dict[str, ColumnType], path: Path
) -> None:
    try:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset
    except ImportError:
        raise UsageError("--html needs Evidently: pip install 'driftloop[report]'") from None
    columns = [name for name in types if name in current.columns]
    definition = DataDefinition(
        numerical_columns=[n for n in columns if types[n] == "numeric"],
        categorical_columns=[n for n in columns if types[n] == "categorical"],
        text_columns=[n for n in columns if types[n] == "text"],
    )
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    snapshot.save_html(str(path))
