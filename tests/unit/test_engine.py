"""The comparison engine: verdict rules, corrections, sample-size honesty, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftloop.drift import DriftOptions, build_profile, compare, parse_tests
from driftloop.errors import DataError, UsageError

TYPES = {"x": "numeric", "c": "categorical"}


def frames(n: int = 4000, shift: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1.0, n), "c": rng.choice(list("abc"), n)})
    return ref, cur


def run(ref: pd.DataFrame, cur: pd.DataFrame, **options: object) -> dict:  # type: ignore[type-arg]
    profile = build_profile(ref, TYPES)  # type: ignore[arg-type]
    return compare(ref, cur, profile, DriftOptions(**options)).to_dict()  # type: ignore[arg-type]


def test_no_drift_on_same_distribution() -> None:
    result = run(*frames())
    assert result["drifted"] is False
    assert result["status"] == "no_drift"
    assert set(result["features"]["x"]["tests"]) == {"psi", "ks"}
    assert set(result["features"]["c"]["tests"]) == {"psi", "chisquare"}


def test_large_shift_is_drift_with_both_kinds_of_evidence() -> None:
    result = run(*frames(shift=1.0))
    feature = result["features"]["x"]
    assert result["drifted"] is True
    assert feature["drifted"] is True
    assert feature["tests"]["psi"]["drifted"] is True
    assert feature["tests"]["ks"]["drifted"] is True
    assert result["drifted_features"] == ["x"]


def test_small_certain_shift_needs_effect_size_too() -> None:
    # 0.1 sd at 200k rows: KS is certain, PSI is small -> not drift with the defaults
    result = run(*frames(n=200_000, shift=0.1))
    feature = result["features"]["x"]
    assert feature["tests"]["ks"]["drifted"] is True
    assert feature["tests"]["psi"]["drifted"] is False
    assert feature["drifted"] is False
    # ...but it is drift when only the significance test is asked for
    assert run(*frames(n=200_000, shift=0.1), tests=("ks",))["features"]["x"]["drifted"] is True


def test_too_few_rows_is_insufficient_data_not_drift() -> None:
    ref, _ = frames()
    cur = pd.DataFrame({"x": [5.0] * 20, "c": ["z"] * 20})
    result = run(ref, cur, min_samples=100)
    assert result["drifted"] is False
    assert result["status"] == "insufficient_data"
    assert result["features"]["x"]["status"] == "insufficient_data"
    assert (
        result["features"]["x"]["tests"]["psi"]["drifted"] is True
    )  # the test itself still says so


def test_correction_is_applied_across_features() -> None:
    ref, cur = frames(shift=0.05, n=3000, seed=4)
    raw = run(ref, cur, correction="none", tests=("ks", "chisquare"))
    bonf = run(ref, cur, correction="bonferroni", tests=("ks", "chisquare"))
    # numeric x runs ks and chi-squared on its bins, c runs chi-squared: a family of three
    family = [("x", "ks"), ("x", "chisquare"), ("c", "chisquare")]
    for name, test in family:
        p = raw["features"][name]["tests"][test]["p_value"]
        assert raw["features"][name]["tests"][test]["p_adjusted"] == pytest.approx(p)
        expected = min(1.0, len(family) * p)
        assert bonf["features"][name]["tests"][test]["p_adjusted"] == pytest.approx(expected)


def test_missing_feature_in_current_is_a_schema_drift_verdict() -> None:
    ref, cur = frames()
    result = run(ref, cur.drop(columns=["c"]))
    assert result["features"]["c"]["status"] == "missing_in_current"
    assert result["features"]["c"]["drifted"] is True
    assert result["drifted"] is True


def test_all_nan_current_column_is_drift_through_the_missing_bin() -> None:
    ref, cur = frames()
    cur["x"] = np.nan
    result = run(ref, cur)
    feature = result["features"]["x"]
    assert feature["tests"]["psi"]["drifted"] is True
    assert "ks" in feature["skipped"]
    assert feature["drifted"] is True  # the only significance test could not run


def test_non_numeric_values_in_numeric_feature_are_an_error() -> None:
    ref, cur = frames()
    cur["x"] = cur["x"].astype(object)
    cur.loc[3, "x"] = "twelve"
    with pytest.raises(DataError, match=r"feature 'x' is numeric but current has non-numeric"):
        run(ref, cur)


def test_numeric_strings_are_accepted() -> None:
    ref, cur = frames()
    cur["x"] = cur["x"].astype(str)
    assert run(ref, cur)["features"]["x"]["drifted"] is False


def test_empty_frames_are_errors() -> None:
    ref, cur = frames()
    with pytest.raises(DataError, match="current data has no rows"):
        run(ref, cur.iloc[:0])
    with pytest.raises(DataError, match="reference data has no rows"):
        run(ref.iloc[:0], cur)


def test_profile_only_skips_raw_tests() -> None:
    ref, cur = frames(shift=1.0)
    profile = build_profile(ref, TYPES)  # type: ignore[arg-type]
    report = compare(None, cur, profile, DriftOptions(tests=parse_tests("all")))
    feature = report.features["x"]
    assert set(feature.tests) == {"psi", "chisquare", "jensenshannon", "hellinger"}
    assert set(feature.skipped) == {"ks", "wasserstein"}
    assert report.drifted


def test_parse_tests() -> None:
    assert parse_tests(None) is None
    assert parse_tests("ks, psi") == ("psi", "ks")
    assert len(parse_tests("all") or ()) == 6
    with pytest.raises(UsageError, match="unknown test"):
        parse_tests("psi,kss")


def test_thresholds_are_reported_as_used() -> None:
    result = run(*frames(shift=0.3), thresholds={"psi": 0.5, "ks": 0.01})
    assert result["features"]["x"]["tests"]["psi"]["threshold"] == 0.5
    assert result["features"]["x"]["tests"]["ks"]["threshold"] == 0.01


def test_mixed_types_in_a_categorical_feature_are_categories() -> None:
    ref, cur = frames()
    cur["c"] = cur["c"].astype(object)
    cur.loc[:5, "c"] = 7  # numbers among strings: unseen categories, counted in __other__
    feature = build_profile(ref, TYPES).features["c"]  # type: ignore[arg-type]
    counts = dict(zip(feature.bins, feature.bin_counts(cur["c"]), strict=True))
    assert counts["__other__"] == 6
    assert run(ref, cur)["features"]["c"]["drifted"] is False
