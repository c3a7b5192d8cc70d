"""Multiple-testing corrections across features (adjusted p-values, as statsmodels gives)."""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["Correction", "adjust", "benjamini_hochberg", "bonferroni"]

Correction = Literal["bh", "bonferroni", "none"]


def bonferroni(p_values: np.ndarray) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    adjusted: np.ndarray = np.minimum(p * len(p), 1.0)
    return adjusted


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Step-up adjusted p-values controlling the false discovery rate."""
    p = np.asarray(p_values, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty(n)
    result[order] = np.minimum(adjusted, 1.0)
    return result


def adjust(p_values: np.ndarray, method: Correction) -> np.ndarray:
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "bonferroni":
        return bonferroni(p_values)
    return np.asarray(p_values, dtype=float)
