"""PSI with Evidently 0.7's binning, for teams reproducing their Evidently dashboards.

Evidently drops non-finite values; a numeric column with more than 20 distinct reference
values gets equal-width Sturges bins over reference and current combined, anything else one
bin per distinct value; an empty bin's share is replaced by 0.0001 (or the smallest non-zero
share / 1e6 when that is smaller). See evidently/legacy/calculations/stattests/utils.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftloop.drift.result import TestResult

__all__ = ["evidently_psi"]


def _fill_zeroes(percents: np.ndarray) -> np.ndarray:
    nonzero = percents[percents != 0]
    if len(nonzero) == 0:
        return percents
    smallest = float(nonzero.min())
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(percents == 0, fill, percents)


def _clean(series: pd.Series) -> pd.Series:
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def evidently_psi(
    reference: pd.Series, current: pd.Series, numeric: bool, threshold: float
) -> TestResult:
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) == 0:
        raise ValueError("PSI needs values on both sides")
    if numeric and ref.nunique() > 20:
        ref_values = ref.to_numpy(dtype=float)
        cur_values = cur.to_numpy(dtype=float)
        edges = np.histogram_bin_edges(np.concatenate([ref_values, cur_values]), bins="sturges")
        ref_pct = np.histogram(ref_values, edges)[0] / len(ref_values)
        cur_pct = np.histogram(cur_values, edges)[0] / len(cur_values)
    else:
        keys = list(set(ref.unique()) | set(cur.unique()))
        ref_counts, cur_counts = ref.value_counts(), cur.value_counts()
        ref_pct = np.array([ref_counts.get(k, 0) for k in keys], dtype=float) / len(ref)
        cur_pct = np.array([cur_counts.get(k, 0) for k in keys], dtype=float) / len(cur)
    ref_pct, cur_pct = _fill_zeroes(ref_pct), _fill_zeroes(cur_pct)
    score = float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))
    return TestResult(
        "psi", score, threshold, score >= threshold, extra={"bins": float(len(ref_pct))}
    )
