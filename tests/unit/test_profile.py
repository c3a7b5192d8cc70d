"""Reference profiles: bins, counts, JSON, and agreement between raw and binned paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftloop.drift import DriftOptions, Profile, build_profile, compare, stats
from driftloop.drift.columns import infer_types
from driftloop.errors import DataError


def test_numeric_edges_are_reference_quantiles_with_ties_collapsed() -> None:
    df = pd.DataFrame({"calls": [0] * 50 + [1] * 30 + [2] * 15 + [5] * 5})
    profile = build_profile(df, {"calls": "numeric"}, bins=10)
    feature = profile.features["calls"]
    assert feature.edges == (0.0, 1.0, 2.0)
    assert feature.bins == ("0", "1", "2", "3", "missing")
    # right-closed: (-inf, 0], (0, 1], (1, 2], (2, inf), missing
    assert feature.counts == (50, 30, 15, 5, 0)


def test_missing_and_infinite_values_land_in_missing() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, np.nan, np.inf, -np.inf, 3.0]})
    feature = build_profile(df, {"x": "numeric"}, bins=2).features["x"]
    assert feature.counts[-1] == 3
    assert sum(feature.counts) == 6


def test_categorical_top_k_other_and_missing() -> None:
    df = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None]})
    feature = build_profile(df, {"c": "categorical"}, top_k=2).features["c"]
    assert feature.bins == ("a", "b", "__other__", "missing")
    assert feature.counts == (5, 3, 3, 1)
    current = pd.Series(["a", "zzz-unseen", None, "d"])
    assert feature.bin_counts(current).tolist() == [1, 0, 2, 1]


def test_integral_floats_keep_integer_categories() -> None:
    ref = pd.DataFrame({"flag": [0, 1, 1, 0]})
    feature = build_profile(ref, {"flag": "categorical"}).features["flag"]
    # a missing value upcasts the current column to float: 1 -> 1.0 must stay category "1"
    current = pd.Series([1.0, 0.0, np.nan])
    assert feature.bin_counts(current).tolist() == [1, 1, 0, 1]


def test_bin_index_agrees_with_bin_counts() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x": np.where(rng.random(1000) < 0.05, np.nan, rng.normal(size=1000)),
            "c": rng.choice(["a", "b", "c", "d"], 1000),
        }
    )
    profile = build_profile(df.iloc[:500], {"x": "numeric", "c": "categorical"}, top_k=2)
    for name, feature in profile.features.items():
        index = feature.bin_index(df[name])
        counts = np.bincount(index, minlength=len(feature.bins))
        assert counts.tolist() == feature.bin_counts(df[name]).tolist()


def test_json_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.linspace(0, 1, 100), "c": ["u", "v"] * 50})
    profile = build_profile(df, infer_types(df), bins=4, model="m")
    path = tmp_path / "profile.json"
    profile.save(path)
    loaded = Profile.load(path)
    assert loaded.features == profile.features
    assert loaded.n_rows == 100
    assert loaded.model == "m"


def test_load_rejects_non_profiles(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"features": {}}')
    with pytest.raises(DataError, match="not a driftloop profile"):
        Profile.load(path)


def test_psi_on_raw_samples_equals_psi_on_profile_counts() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.gamma(2.0, 3.0, 5000), "c": rng.choice(list("abcde"), 5000)})
    cur = pd.DataFrame({"x": rng.gamma(2.2, 3.0, 4000), "c": rng.choice(list("abcdef"), 4000)})
    profile = build_profile(ref, {"x": "numeric", "c": "categorical"}, top_k=4)
    report = compare(ref, cur, profile, DriftOptions(tests=("psi",)))
    for name, feature in profile.features.items():
        # the counts a Prometheus exporter would hold: reference counts and binned traffic
        from_counts = stats.psi(np.asarray(feature.counts), feature.bin_counts(cur[name]))
        assert report.features[name].tests["psi"].score == pytest.approx(
            from_counts.score, abs=1e-12
        )


def test_infer_types_skips_timestamps_and_treats_bools_as_categories() -> None:
    df = pd.DataFrame(
        {
            "t": pd.date_range("2026-01-01", periods=3, tz="UTC"),
            "n": [1, 2, 3],
            "f": [0.5, 1.5, np.nan],
            "b": [True, False, True],
            "s": ["x", "y", "z"],
        }
    )
    assert infer_types(df) == {
        "n": "numeric",
        "f": "numeric",
        "b": "categorical",
        "s": "categorical",
    }
