"""Property tests: PSI and the engine under arbitrary data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftloop.drift import DriftOptions, build_profile, compare, stats

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=30)
values = st.lists(
    st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=200
)


@given(counts, st.data())
def test_psi_is_non_negative(ref: list[int], data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 10_000), min_size=len(ref), max_size=len(ref)))
    if sum(ref) == 0 or sum(cur) == 0:
        return
    assert stats.psi(np.array(ref), np.array(cur)).score >= 0.0


@given(counts, st.integers(min_value=1, max_value=50))
def test_psi_of_proportional_counts_is_zero(ref: list[int], factor: int) -> None:
    if sum(ref) == 0:
        return
    result = stats.psi(np.array(ref), np.array(ref) * factor)
    assert abs(result.score) < 1e-12
    assert not result.drifted


@settings(max_examples=50, deadline=None)
@given(values, values, st.randoms(use_true_random=False))
def test_engine_is_row_order_invariant(ref: list[float], cur: list[float], rnd: object) -> None:
    reference = pd.DataFrame({"x": ref})
    current = pd.DataFrame({"x": cur})
    shuffled = current.sample(frac=1.0, random_state=len(cur)).reset_index(drop=True)
    profile = build_profile(reference, {"x": "numeric"}, bins=5)
    options = DriftOptions(
        tests=("psi", "ks", "wasserstein", "chisquare", "hellinger"), min_samples=1
    )
    a = compare(reference, current, profile, options).to_dict()
    b = compare(reference, shuffled, profile, options).to_dict()
    assert a == b


@settings(max_examples=50, deadline=None)
@given(values)
def test_psi_of_a_sample_with_itself_is_zero(sample: list[float]) -> None:
    frame = pd.DataFrame({"x": sample})
    profile = build_profile(frame, {"x": "numeric"}, bins=7)
    report = compare(frame, frame, profile, DriftOptions(tests=("psi",), min_samples=1))
    assert report.features["x"].tests["psi"].score == 0.0


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=50),
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=50),
)
def test_unseen_categories_land_in_other(ref: list[str], cur: list[str]) -> None:
    feature = build_profile(pd.DataFrame({"c": ref}), {"c": "categorical"}).features["c"]
    counts = dict(zip(feature.bins, feature.bin_counts(pd.Series(cur)), strict=True))
    unseen = sum(1 for v in cur if v not in set(ref) and v not in ("missing", "__other__"))
    literal_other = sum(1 for v in cur if v == "__other__" and "__other__" not in ref)
    assert counts["__other__"] == unseen + literal_other
    assert sum(counts.values()) == len(cur)
