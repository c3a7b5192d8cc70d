"""Each statistic against hand-computed values and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp
from scipy.spatial.distance import jensenshannon as sp_js

from driftloop.drift import stats
from driftloop.drift.correction import benjamini_hochberg, bonferroni
from driftloop.drift.stats.psi import noise_floor


def test_psi_hand_computed() -> None:
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.25 ln 3
    result = stats.psi(np.array([50, 50]), np.array([25, 75]))
    assert result.score == pytest.approx(0.25 * math.log(3), abs=1e-12)
    assert result.drifted  # 0.2747 >= 0.1
    assert result.threshold == 0.1


def test_psi_floors_empty_bins() -> None:
    result = stats.psi(np.array([100, 0]), np.array([90, 10]), threshold=0.5)
    expected = (0.9 - 1.0) * math.log(0.9) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert result.threshold == 0.5
    assert result.drifted


def test_psi_identical_is_zero_and_not_drift() -> None:
    result = stats.psi(np.array([3, 7, 0, 5]), np.array([30, 70, 0, 50]))
    assert result.score == pytest.approx(0.0, abs=1e-15)
    assert not result.drifted


def test_psi_needs_counts_on_both_sides() -> None:
    with pytest.raises(ValueError, match="at least one"):
        stats.psi(np.array([0, 0]), np.array([1, 2]))


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [
        (50, 80, 0.3),
        (500, 500, 0.0),
        (3000, 7000, 0.05),
        (20_000, 15_000, 0.02),
        (60_000, 40_000, 0.0),
    ],
)
def test_ks_equals_scipy(n: int, m: int, shift: float) -> None:
    rng = np.random.default_rng(n + m)
    a = np.sort(rng.normal(size=n).round(2))  # rounding makes ties
    b = np.sort(rng.normal(shift, 1.0, size=m).round(2))
    expected = sp.ks_2samp(a, b)
    result = stats.ks(a, b)
    assert result.score == pytest.approx(float(expected.statistic), abs=1e-12)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-9)
    assert result.drifted == (float(expected.pvalue) < 0.05)


def test_ks_tiny_p_value_stays_within_tolerance_of_scipy() -> None:
    rng = np.random.default_rng(7)
    a = np.sort(rng.normal(size=200_000))
    b = np.sort(rng.normal(0.1, 1.0, size=200_000))
    expected = sp.ks_2samp(a, b)
    result = stats.ks(a, b)
    assert result.p_value is not None
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-9)
    assert result.drifted


def test_chisquare_equals_scipy_contingency() -> None:
    ref = np.array([120, 340, 0, 90, 450])
    cur = np.array([80, 300, 0, 140, 380])
    statistic, p_value, _, _ = sp.chi2_contingency(
        np.vstack([ref, cur])[:, [0, 1, 3, 4]], correction=False
    )
    result = stats.chisquare(ref, cur)
    assert result.score == pytest.approx(statistic, abs=1e-9)
    assert result.p_value == pytest.approx(p_value, abs=1e-9)
    assert result.drifted


def test_chisquare_single_bin_is_no_evidence() -> None:
    result = stats.chisquare(np.array([10, 0]), np.array([20, 0]))
    assert result.p_value == 1.0
    assert not result.drifted


def test_jensenshannon_equals_scipy() -> None:
    ref, cur = np.array([10.0, 20.0, 30.0, 0.0]), np.array([15.0, 5.0, 30.0, 10.0])
    result = stats.jensenshannon(ref, cur)
    assert result.score == pytest.approx(sp_js(ref, cur), abs=1e-12)


def test_hellinger_bounds() -> None:
    assert stats.hellinger(np.array([1, 0]), np.array([0, 1])).score == pytest.approx(1.0)
    assert stats.hellinger(np.array([2, 3]), np.array([4, 6])).score == pytest.approx(0.0, abs=1e-7)
    # p = (.5, .5), q = (.9, .1): 1 - (sqrt(.45) + sqrt(.05)) under the root
    expected = math.sqrt(1 - (math.sqrt(0.45) + math.sqrt(0.05)))
    assert stats.hellinger(np.array([5, 5]), np.array([9, 1])).score == pytest.approx(expected)


def test_wasserstein_equals_scipy_normalised() -> None:
    rng = np.random.default_rng(3)
    a = np.sort(rng.exponential(2.0, 5000))
    b = np.sort(rng.exponential(2.5, 3000))
    result = stats.wasserstein(a, b)
    expected = sp.wasserstein_distance(a, b) / np.std(a)
    assert result.score == pytest.approx(expected, rel=1e-9)
    assert result.drifted


def test_wasserstein_constant_reference_uses_minimum_norm() -> None:
    result = stats.wasserstein(np.zeros(10), np.full(10, 0.01))
    assert result.score == pytest.approx(0.01 / 0.001)


def test_benjamini_hochberg_hand_computed() -> None:
    # sorted p (0.005, 0.01, 0.03, 0.04) * 4 / rank = (0.02, 0.02, 0.04, 0.04)
    adjusted = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    assert adjusted.tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_is_monotone_in_rank() -> None:
    adjusted = benjamini_hochberg(np.array([0.001, 0.5, 0.02, 0.02, 0.9]))
    assert adjusted.tolist() == pytest.approx([0.005, 0.625, 0.0333333333, 0.0333333333, 0.9])


def test_bonferroni_caps_at_one() -> None:
    assert bonferroni(np.array([0.01, 0.4])).tolist() == pytest.approx([0.02, 0.8])
    assert bonferroni(np.array([0.6, 0.7])).tolist() == [1.0, 1.0]


def test_psi_noise_floor_matches_simulation() -> None:
    rng = np.random.default_rng(11)
    bins, n, m = 10, 2000, 1000
    probabilities = np.full(bins, 1 / bins)
    scores = [
        stats.psi(rng.multinomial(n, probabilities), rng.multinomial(m, probabilities)).score
        for _ in range(400)
    ]
    floor = noise_floor(np.full(bins, n // bins), np.full(bins, m // bins))
    assert floor == pytest.approx(9 * (1 / 2000 + 1 / 1000))
    assert np.mean(scores) == pytest.approx(floor, rel=0.15)


def test_hellinger_equals_the_recording_rule_on_the_promtool_counts() -> None:
    """tests/rules: reference 1/2, 1/2, 0 (missing); 22, 66, 0 counted: 0.184592."""
    score = stats.hellinger(np.array([5000, 5000, 0]), np.array([22, 66, 0])).score
    assert round(score * 1e6) == 184592
