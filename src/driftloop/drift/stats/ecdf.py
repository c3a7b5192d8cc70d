"""Both empirical CDFs on the merged sample, shared by the KS and Wasserstein tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EcdfPair", "ecdf_pair"]


@dataclass(frozen=True)
class EcdfPair:
    """``values`` is the merged sorted sample; ``reference``/``current`` are each side's
    CDF just after each value; ``group_end`` marks the last of each run of equal values,
    where both CDFs are complete."""

    values: np.ndarray
    reference: np.ndarray
    current: np.ndarray
    group_end: np.ndarray


def ecdf_pair(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> EcdfPair:
    n = len(reference_sorted)
    merged = np.concatenate([reference_sorted, current_sorted])
    # A stable sort of two sorted runs is a linear merge, and far cheaper than two binary
    # searches of every merged value.
    order = np.argsort(merged, kind="stable")
    values = merged[order]
    from_reference = order < n
    reference_cdf = np.cumsum(from_reference) / n
    current_cdf = np.cumsum(~from_reference) / len(current_sorted)
    group_end = np.append(values[1:] != values[:-1], True)
    return EcdfPair(values, reference_cdf, current_cdf, group_end)
