"""The label-free multiclass estimate (driftloop.drift.class_quality): calibration by hand,
normalised rows, F1 from expected counts, and its agreement with labels drawn from
calibrated probabilities; the profile block and its bad values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from driftloop.drift.class_quality import (
    calibrate,
    class_calibration,
    expected_counts,
    f1_macro_of_counts,
)
from driftloop.drift.profile import Profile, build_profile
from driftloop.errors import DataError


def test_calibration_is_the_share_of_the_class_per_bin_with_a_midpoint_pseudo_row() -> None:
    # two classes, 2 bins: [0, 0.5) and [0.5, 1]
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    actual = np.array([0, 0, 1, 1])
    table = class_calibration(probabilities, actual, n_bins=2)
    # class 0: bin 1 holds rows 0-2 (2 of them class 0), bin 0 holds row 3 (not class 0)
    assert table[0] == pytest.approx([(0 + 0.25) / 2, (2 + 0.75) / 4])
    # class 1: bin 0 holds rows 0-2 (1 of them class 1), bin 1 holds row 3 (class 1)
    assert table[1] == pytest.approx([(1 + 0.25) / 4, (1 + 0.75) / 2])
    # a bin no row reached reads its midpoint
    empty = class_calibration(probabilities[:1], actual[:1], n_bins=4)
    assert empty[0][:3] == pytest.approx([0.125, 0.375, 0.625])


def test_counts_and_macro_f1_by_hand() -> None:
    table = np.array([[0.2, 0.8], [0.1, 0.6]])  # class 0 and class 1, two bins
    probabilities = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    calibrated = calibrate(probabilities, table)
    # row 0: (0.8, 0.1) -> (8/9, 1/9); row 1: (0.2, 0.6) -> (1/4, 3/4); row 2: (0.8, 0.1)
    assert calibrated == pytest.approx(np.array([[8 / 9, 1 / 9], [0.25, 0.75], [8 / 9, 1 / 9]]))
    served = np.argmax(probabilities, axis=1)  # 0, 1, 0
    hits, rows = expected_counts(calibrated, served)
    assert hits == pytest.approx([16 / 9, 0.75])
    assert rows == pytest.approx([8 / 9 + 0.25 + 8 / 9, 1 / 9 + 0.75 + 1 / 9])
    served_counts = np.array([2, 1])
    f1 = [2 * hits[k] / (served_counts[k] + rows[k]) for k in (0, 1)]
    assert f1_macro_of_counts(hits, rows, served_counts) == pytest.approx(np.mean(f1))
    # a class with no served and no expected rows is left out; none at all: no value
    assert f1_macro_of_counts(np.array([1.0, 0]), np.array([1.0, 0]), [1, 0]) == 1.0
    assert f1_macro_of_counts(np.zeros(2), np.zeros(2), [0, 0]) is None


def test_the_estimate_matches_labels_drawn_from_calibrated_probabilities() -> None:
    """If labels follow the probabilities the table was learned from, the estimate from the
    probabilities alone is the realised macro-F1 up to sampling error."""
    rng = np.random.default_rng(7)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        logits = rng.normal(size=(n, 3)) * 2.0
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        return p, y

    reference, labels = draw(20_000)
    table = class_calibration(reference, labels)
    current, truth = draw(20_000)
    served = np.argmax(current, axis=1)
    hits, rows = expected_counts(calibrate(current, table), served)
    estimate = f1_macro_of_counts(hits, rows, np.bincount(served, minlength=3))
    realised = f1_score(truth, served, average="macro")
    assert estimate == pytest.approx(realised, abs=0.015)
    # and it is not a constant: other probabilities, another estimate
    flat = np.full_like(current, 1 / 3) + rng.normal(scale=0.01, size=current.shape)
    flat_served = np.argmax(flat, axis=1)
    hits, rows = expected_counts(calibrate(flat, table), flat_served)
    low = f1_macro_of_counts(hits, rows, np.bincount(flat_served, minlength=3))
    assert low is not None
    assert estimate is not None
    assert low < estimate - 0.2


@pytest.mark.parametrize(
    ("block", "phrase"),
    [
        ({"a": [0.5, float("nan")], "b": [0.1, 0.2]}, "holds probabilities (0 to 1)"),
        ({"a": [0.5, 1.5], "b": [0.1, 0.2]}, "holds probabilities (0 to 1)"),
        ({"a": [0.5, -0.1], "b": [0.1, 0.2]}, "holds probabilities (0 to 1)"),
        ({"a": [0.5], "b": [0.1, 0.2]}, "the same number of bins"),
        ({"a": []}, "the same number of bins"),
        ([0.5, 0.5], "maps each class"),
        ({"a": "high"}, "prediction_class_calibration.a: a list of probabilities expected"),
        ({"a": [0.5, "x"]}, "prediction_class_calibration.a: a list of probabilities expected"),
    ],
)
def test_a_bad_calibration_block_is_an_invalid_profile_naming_it(
    tmp_path: Path, block: object, phrase: str
) -> None:
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"x": "numeric"})
    data = profile.to_dict() | {"prediction_class_calibration": block}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match="invalid profile") as raised:
        Profile.load(path)
    assert phrase in str(raised.value)
    assert "prediction_class_calibration" in str(raised.value)


def test_the_calibration_survives_a_round_trip(tmp_path: Path) -> None:
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"x": "numeric"})
    table = {"negative": (0.1, 0.9), "positive": (0.2, 0.8)}
    path = tmp_path / "profile.json"
    Profile(profile.features, 3, class_calibration=table).save(path)
    assert Profile.load(path).class_calibration == table
