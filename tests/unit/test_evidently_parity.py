"""With Evidently's binning, driftloop's PSI equals Evidently 0.7's ValueDrift(method="psi")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from driftloop.drift import DriftOptions, build_profile, compare

evidently = pytest.importorskip("evidently")
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.metrics import ValueDrift  # noqa: E402


def evidently_psi(ref: pd.DataFrame, cur: pd.DataFrame, column: str, numeric: bool) -> float:
    definition = DataDefinition(
        numerical_columns=[column] if numeric else [],
        categorical_columns=[] if numeric else [column],
    )
    with warnings.catch_warnings():
        # Evidently summarises the raw column (inf included) and numpy warns about it.
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([ValueDrift(column=column, method="psi")]).run(
            current_data=Dataset.from_pandas(cur[[column]], data_definition=definition),
            reference_data=Dataset.from_pandas(ref[[column]], data_definition=definition),
        )
    return float(snapshot.dict()["metrics"][0]["value"])


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(21)
    ref = pd.DataFrame(
        {
            "wide": rng.lognormal(3.0, 0.6, 4000),
            "few": rng.integers(0, 6, 4000).astype(float),
            "cat": rng.choice(["a", "b", "c", "d"], 4000, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    cur = pd.DataFrame(
        {
            "wide": np.concatenate([rng.lognormal(3.2, 0.6, 2900), [np.inf, -np.inf, np.nan]]),
            "few": rng.integers(0, 8, 2903).astype(float),
            "cat": rng.choice(["a", "b", "c", "e"], 2903, p=[0.3, 0.3, 0.2, 0.2]),
        }
    )
    return ref, cur


@pytest.mark.parametrize(("column", "numeric"), [("wide", True), ("few", True), ("cat", False)])
def test_psi_matches_evidently(column: str, numeric: bool) -> None:
    ref, cur = frames()
    types = {column: "numeric" if numeric else "categorical"}
    profile = build_profile(ref, types)  # type: ignore[arg-type]
    report = compare(ref, cur, profile, DriftOptions(tests=("psi",), psi_binning="sturges"))
    ours = report.features[column].tests["psi"].score
    assert ours == pytest.approx(evidently_psi(ref, cur, column, numeric), abs=1e-9)
    assert ours > 0.01  # the frames differ: parity is not trivially 0 == 0


def test_default_binning_differs_from_evidentlys() -> None:
    ref, cur = frames()
    profile = build_profile(ref, {"wide": "numeric"})
    ours = compare(ref, cur, profile, DriftOptions(tests=("psi",))).features["wide"].tests["psi"]
    assert ours.score != pytest.approx(evidently_psi(ref, cur, "wide", True), abs=1e-6)
