"""Compare a current frame with a reference: every requested test on every feature.

The verdict for a feature pairs effect size with significance: it drifts when an effect-size
test (PSI, Wasserstein, JS, Hellinger) crosses its threshold *and* a significance test (KS,
chi-squared), after multiple-testing correction across all features, rejects "same
distribution". Effect size alone misses small, certain shifts; significance alone flags
trivia at large sample sizes. When only one kind of test is requested, it decides alone.
Below ``min_samples`` rows on either side the verdict is ``insufficient_data``, never drift.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from driftloop.drift import stats
from driftloop.drift.classifier import domain_classifier
from driftloop.drift.columns import numeric_values
from driftloop.drift.correction import Correction, adjust
from driftloop.drift.evidently_compat import evidently_psi
from driftloop.drift.profile import FeatureProfile, Profile
from driftloop.drift.result import (
    BINNED_TESTS,
    DEFAULT_TESTS,
    EFFECT_TESTS,
    SIGNIFICANCE_TESTS,
    TEST_NAMES,
    TestName,
    TestResult,
)
from driftloop.drift.stats.ecdf import ecdf_pair
from driftloop.errors import DataError, UsageError

__all__ = [
    "DriftOptions",
    "DriftReport",
    "FeatureDrift",
    "MissingShift",
    "compare",
    "missing_shift",
    "parse_tests",
]

Status = Literal["drift", "no_drift", "insufficient_data", "missing_in_current"]
PsiBinning = Literal["profile", "sturges"]
RAW_TESTS = frozenset({"ks", "wasserstein"})


def parse_tests(text: str | None) -> tuple[TestName, ...] | None:
    """``psi,ks`` -> ("psi", "ks"); ``all`` -> every test; None -> defaults per type."""
    if text is None:
        return None
    if text.strip() == "all":
        return TEST_NAMES
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:  # running no test would report "no drift" for anything
        raise UsageError(f"--tests {text!r} names no test; choose from {', '.join(TEST_NAMES)}")
    unknown = [name for name in names if name not in TEST_NAMES]
    if unknown:
        raise UsageError(
            f"unknown test(s) {', '.join(unknown)}; choose from {', '.join(TEST_NAMES)}"
        )
    return tuple(name for name in TEST_NAMES if name in names)


@dataclass(frozen=True)
class DriftOptions:
    tests: tuple[TestName, ...] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    correction: Correction = "bh"
    min_samples: int = 100
    psi_binning: PsiBinning = "profile"

    def threshold(self, test: str) -> float:
        return self.thresholds.get(test, stats.DEFAULT_THRESHOLDS[test])

    def tests_for(self, kind: str) -> tuple[TestName, ...]:
        if self.tests is None:
            return DEFAULT_TESTS[kind]
        if kind == "numeric":
            return self.tests
        return tuple(t for t in self.tests if t not in RAW_TESTS)


@dataclass(frozen=True)
class MissingShift:
    """The share of missing (and, for numbers, non-finite) values on each side. A jump in it
    is drift by itself: the tests on the remaining values cannot see it (97% nulls left a
    KS on the other 3% saying "same distribution")."""

    reference: float
    current: float
    psi: float  # over the two bins present / missing
    p_value: float  # chi-squared on the same 2 x 2 table
    drifted: bool

    def to_dict(self) -> dict[str, float | bool]:
        return {"reference": round(self.reference, 6), "current": round(self.current, 6),
                "psi": self.psi, "p_value": self.p_value, "drifted": self.drifted}  # fmt: skip


def missing_shift(
    reference_counts: np.ndarray, current_counts: np.ndarray, options: DriftOptions
) -> MissingShift | None:
    """Missing is every profile's last bin; None when neither side has any."""
    ref = np.array([reference_counts[:-1].sum(), reference_counts[-1]], dtype=float)
    cur = np.array([current_counts[:-1].sum(), current_counts[-1]], dtype=float)
    if (ref[1] == 0 and cur[1] == 0) or ref.sum() <= 0 or cur.sum() <= 0:
        return None
    effect = stats.psi(ref, cur, options.threshold("psi"))
    significance = stats.chisquare(ref, cur, options.threshold("chisquare"))
    p_value = float(significance.p_value if significance.p_value is not None else 1.0)
    return MissingShift(
        float(ref[1] / ref.sum()), float(cur[1] / cur.sum()), effect.score, p_value,
        effect.drifted and significance.drifted,
    )  # fmt: skip


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    type: str
    status: Status
    tests: dict[str, TestResult]
    skipped: dict[str, str] = field(default_factory=dict)
    n_reference: int = 0
    n_current: int = 0
    warning: str | None = None
    missing: MissingShift | None = None

    @property
    def drifted(self) -> bool:
        return self.status in ("drift", "missing_in_current")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "drifted": self.drifted,
            "status": self.status,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "tests": {name: result.to_dict() for name, result in self.tests.items()},
        }
        if self.missing is not None:
            data["missing"] = self.missing.to_dict()
        if self.skipped:
            data["skipped"] = self.skipped
        if self.warning:
            data["warning"] = self.warning
        return data


@dataclass(frozen=True)
class DriftReport:
    features: dict[str, FeatureDrift]
    n_reference: int
    n_current: int
    options: DriftOptions

    @property
    def drifted(self) -> bool:
        return any(feature.drifted for feature in self.features.values())

    @property
    def warnings(self) -> dict[str, str]:
        return {n: f.warning for n, f in self.features.items() if f.warning is not None}

    @property
    def status(self) -> str:
        if self.drifted:
            return "drift"
        statuses = {feature.status for feature in self.features.values()}
        return "insufficient_data" if statuses == {"insufficient_data"} else "no_drift"

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "status": self.status,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "drifted_features": [n for n, f in self.features.items() if f.drifted],
            "warnings": self.warnings,
            "options": {
                "correction": self.options.correction,
                "min_samples": self.options.min_samples,
                "psi_binning": self.options.psi_binning,
            },
            "features": {name: feature.to_dict() for name, feature in self.features.items()},
        }


def _binned(test: str, ref: np.ndarray, cur: np.ndarray, threshold: float) -> TestResult:
    if test == "psi":
        return stats.psi(ref, cur, threshold)
    if test == "chisquare":
        return stats.chisquare(ref, cur, threshold)
    if test == "jensenshannon":
        return stats.jensenshannon(ref, cur, threshold)
    return stats.hellinger(ref, cur, threshold)


def _finite_sorted(ordered: np.ndarray | None) -> np.ndarray | None:
    """The finite prefix of a sorted array (np.sort puts NaN last)."""
    if ordered is None:
        return None
    return ordered[: len(ordered) - int(np.count_nonzero(np.isnan(ordered)))]


def _feature_tests(
    feature: FeatureProfile,
    reference: pd.Series | None,
    current: pd.Series,
    options: DriftOptions,
) -> tuple[dict[str, TestResult], dict[str, str], int, MissingShift | None]:
    """Run the requested tests on one feature; returns results, skipped tests, n_ref and the
    shift in missing values."""
    results: dict[str, TestResult] = {}
    skipped: dict[str, str] = {}
    ref_raw = cur_raw = None
    raw_tests = RAW_TESTS.intersection(options.tests_for(feature.type))
    if feature.type == "numeric" and not raw_tests:  # binned tests only: no sort needed
        cur_counts = feature.bin_counts(current, "current")
        ref_counts = (
            feature.bin_counts(reference, "reference")
            if reference is not None
            else np.asarray(feature.counts)
        )
    elif feature.type == "numeric":
        cur_raw = np.sort(numeric_values(current, feature.name, "current"))
        cur_counts = feature.counts_of_sorted(cur_raw)
        if reference is not None:
            ref_raw = np.sort(numeric_values(reference, feature.name, "reference"))
            ref_counts = feature.counts_of_sorted(ref_raw)
        else:
            ref_counts = np.asarray(feature.counts)
    else:
        cur_counts = feature.bin_counts(current, "current")
        ref_counts = (
            feature.bin_counts(reference, "reference")
            if reference is not None
            else np.asarray(feature.counts)
        )
    ref_finite, cur_finite = _finite_sorted(ref_raw), _finite_sorted(cur_raw)
    ecdf = None
    for test in options.tests_for(feature.type):
        threshold = options.threshold(test)
        if test == "psi" and options.psi_binning == "sturges":
            if reference is None:
                skipped[test] = "Evidently's binning needs the raw reference"
                continue
            results[test] = evidently_psi(reference, current, feature.type == "numeric", threshold)
        elif test in BINNED_TESTS:
            results[test] = _binned(test, ref_counts, cur_counts, threshold)
        elif ref_finite is None or cur_finite is None:
            skipped[test] = "needs the raw reference sample, not only a profile"
        elif len(ref_finite) == 0 or len(cur_finite) == 0:
            skipped[test] = "no non-missing values on one side"
        else:
            ecdf = ecdf or ecdf_pair(ref_finite, cur_finite)
            test_fn = stats.ks if test == "ks" else stats.wasserstein
            results[test] = test_fn(ref_finite, cur_finite, threshold, ecdf)
    return results, skipped, int(ref_counts.sum()), missing_shift(ref_counts, cur_counts, options)


def _verdict(results: dict[str, TestResult]) -> bool:
    effect = [r.drifted for name, r in results.items() if name in EFFECT_TESTS]
    significance = [r.drifted for name, r in results.items() if name in SIGNIFICANCE_TESTS]
    if not effect and not significance:
        return False
    return (any(effect) or not effect) and (any(significance) or not significance)


def _apply_correction(
    per_feature: dict[str, dict[str, TestResult]], method: Correction
) -> dict[str, dict[str, TestResult]]:
    keys = [
        (feature, test)
        for feature, results in per_feature.items()
        for test, result in results.items()
        if result.p_value is not None
    ]
    if not keys:
        return per_feature
    raw = np.array([per_feature[f][t].p_value for f, t in keys], dtype=float)
    for (feature, test), p_adj in zip(keys, adjust(raw, method), strict=True):
        result = per_feature[feature][test]
        per_feature[feature][test] = replace(
            result, p_adjusted=float(p_adj), drifted=bool(p_adj < result.threshold)
        )
    return per_feature


def _check_frames(reference: pd.DataFrame | None, current: pd.DataFrame, names: list[str]) -> None:
    if len(current) == 0:
        raise DataError("current data has no rows")
    if reference is not None and len(reference) == 0:
        raise DataError("reference data has no rows")
    if reference is not None:
        lacking = [name for name in names if name not in reference.columns]
        if lacking:
            raise DataError(f"reference data lacks feature column(s): {', '.join(lacking)}")


def compare(
    reference: pd.DataFrame | None,
    current: pd.DataFrame,
    profile: Profile,
    options: DriftOptions | None = None,
    features: Sequence[str] | None = None,
) -> DriftReport:
    """Test every profiled feature of ``current`` against ``reference`` (or the profile's
    counts when ``reference`` is None, in which case raw-sample tests are skipped)."""
    options = options or DriftOptions()
    current = profile.with_descriptors(current)
    if reference is not None:
        reference = profile.with_descriptors(reference)
    names = list(features) if features is not None else list(profile.features)
    _check_frames(reference, current, names)
    per_feature: dict[str, dict[str, TestResult]] = {}
    skipped: dict[str, dict[str, str]] = {}
    n_ref: dict[str, int] = {}
    missing: dict[str, MissingShift | None] = {}
    absent = [name for name in names if name not in current.columns]
    present = [name for name in names if name not in absent]
    if names and not present:  # the wrong file, not drift
        raise DataError(
            f"current data has none of the profiled feature columns "
            f"(expected {', '.join(names)}; found {', '.join(map(str, current.columns[:20]))})"
        )

    def run(name: str) -> tuple[dict[str, TestResult], dict[str, str], int, MissingShift | None]:
        ref_series = reference[name] if reference is not None else None
        return _feature_tests(profile.features[name], ref_series, current[name], options)

    # Sorting and merging release the GIL, so features run side by side on all cores.
    with ThreadPoolExecutor(max_workers=min(len(present), os.cpu_count() or 1) or 1) as pool:
        for name, found in zip(present, pool.map(run, present), strict=True):
            per_feature[name], skipped[name], n_ref[name], missing[name] = found
    per_feature = _apply_correction(per_feature, options.correction)
    n_reference = len(reference) if reference is not None else profile.n_rows
    result: dict[str, FeatureDrift] = {}
    for name in names:
        kind = profile.features[name].type
        warning = profile.features[name].warning
        if name in absent:
            result[name] = FeatureDrift(
                name, kind, "missing_in_current", {}, {"*": "column absent from current data"},
                warning=warning,
            )  # fmt: skip
            continue
        status: Status
        if min(n_ref[name], len(current)) < options.min_samples:
            status = "insufficient_data"
        else:
            shift = missing[name]
            shifted = shift is not None and shift.drifted
            status = "drift" if _verdict(per_feature[name]) or shifted else "no_drift"
        result[name] = FeatureDrift(
            name, kind, status, per_feature[name], skipped[name], n_ref[name], len(current),
            warning, missing[name],
        )  # fmt: skip
    for name in profile.vocabularies:
        if name in current.columns:  # else its descriptors say missing_in_current
            result[name] = _text_drift(name, reference, current, options)
    return DriftReport(result, n_reference, len(current), options)


def _text_drift(
    name: str, reference: pd.DataFrame | None, current: pd.DataFrame, options: DriftOptions
) -> FeatureDrift:
    """A text feature as a whole: can a classifier tell the two sides' texts apart?"""
    if reference is None or name not in reference.columns:
        why = {"domain_classifier": "needs the reference texts (--reference), not a profile"}
        return FeatureDrift(name, "text", "insufficient_data", {}, why)
    n_ref, n_cur = int(reference[name].notna().sum()), int(current[name].notna().sum())
    if min(n_ref, n_cur) < options.min_samples:
        return FeatureDrift(name, "text", "insufficient_data", {}, {}, n_ref, n_cur)
    test = domain_classifier(reference[name], current[name])
    status: Status = "drift" if test.drifted else "no_drift"
    return FeatureDrift(name, "text", status, {test.name: test}, {}, n_ref, n_cur)
