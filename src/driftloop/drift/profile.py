"""Reference profiles: the bins of every feature and the reference counts in them.

Numeric bins are right-closed intervals between reference quantiles (ties collapsed), plus
``missing``. Categorical bins are the reference's top-K categories, ``__other__`` for the
rest, and ``missing``. The profile is what the model server bins live traffic with, so the
Prometheus path and the raw-sample path count exactly the same way.
"""

from __future__ import annotations

import functools
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from driftloop.drift.class_quality import parse_class_calibration
from driftloop.drift.columns import (
    MISSING,
    OTHER,
    ColumnType,
    FeatureType,
    category_counts,
    category_label,
    numeric_values,
)
from driftloop.drift.text import (
    descriptor_names,
    parse_vocabularies,
    profile_text,
    vocabularies_dict,
    with_descriptors,
)
from driftloop.errors import DataError

__all__ = [
    "PROFILE_FORMAT",
    "Z_LIMIT",
    "FeatureProfile",
    "Profile",
    "build_profile",
    "count_beyond",
    "profile_values",
]

PROFILE_FORMAT = "driftloop.profile/v1"
Z_LIMIT = 4.0  # seed 002: "Feature value range: Z-score, Z > 4"


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    type: FeatureType
    bins: tuple[str, ...]
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    # numeric: the reference's mean and standard deviation of finite values, for the
    # server's value-range counter (|z| > 4); None in profiles made before #20
    mean: float | None = None
    std: float | None = None
    beyond: float | None = None  # the reference's own share of finite values beyond |z| > 4

    @property
    def ratios(self) -> np.ndarray:
        counts = np.asarray(self.counts, dtype=float)
        total = counts.sum()
        return counts / total if total > 0 else counts

    def bin_index(self, series: pd.Series, side: str = "current") -> np.ndarray:
        """The bin of each row (an index into ``bins``), vectorised."""
        if self.type == "numeric":
            return self.index_of_prepared(numeric_values(series, self.name, side))
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        lookup = {label: i for i, label in enumerate(self.bins)}
        other = lookup.get(OTHER, len(self.bins) - 2)
        mapped = np.array(
            [lookup.get(category_label(v), other) for v in uniques] + [len(self.bins) - 1],
            dtype=np.int64,
        )
        return mapped[codes]  # code -1 picks the trailing `missing`

    def index_of_prepared(self, values: np.ndarray) -> np.ndarray:
        """Bins of already prepared values: floats with NaN for missing (numeric), or
        category labels with None for missing (categorical). Cheap for small batches."""
        missing = len(self.bins) - 1
        if self.type == "numeric":
            index = np.searchsorted(self._edges, values, side="left")
            index[np.isnan(values)] = missing
            return index
        lookup = self._lookup
        other = lookup[OTHER]
        return np.fromiter(
            (missing if v is None else lookup.get(v, other) for v in values), np.int64, len(values)
        )

    @property
    def warning(self) -> str | None:
        """Why the tests can see little in this feature, if the reference says so."""
        filled = sum(1 for count in self.counts[:-1] if count > 0)
        if filled == 0:
            return "no value in the reference (all missing): the tests see only missingness"
        if filled == 1:
            return (
                "constant in the reference (one bin holds every value): binned tests (PSI) "
                "cannot tell values inside that bin apart"
            )
        return None

    @functools.cached_property
    def _edges(self) -> np.ndarray:
        return np.asarray(self.edges, dtype=float)

    @functools.cached_property
    def _lookup(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.bins[:-1])}

    def bin_counts(self, series: pd.Series, side: str = "current") -> np.ndarray:
        if self.type == "numeric":
            return self.counts_of(numeric_values(series, self.name, side))
        counts = np.zeros(len(self.bins), dtype=np.int64)
        lookup = {label: i for i, label in enumerate(self.bins)}
        for label, count in category_counts(series).items():
            counts[lookup.get(label, lookup[OTHER])] += count
        return counts

    def counts_of(self, values: np.ndarray) -> np.ndarray:
        """Numeric bin counts of unsorted floats (NaN missing), for when no test needs the
        sorted sample: one vectorised comparison per edge counts the values at or below it
        (NaN compares false), 10x faster than a binary search per value for a few edges."""
        missing = int(np.count_nonzero(np.isnan(values)))
        if len(self.edges) > 64:
            index = self.index_of_prepared(values)
            return np.bincount(index, minlength=len(self.bins)).astype(np.int64)
        at_or_below = [np.count_nonzero(values <= edge) for edge in self.edges]
        finite = len(values) - missing
        counts = np.diff(np.array([0, *at_or_below, finite], dtype=np.int64))
        return np.append(counts, missing).astype(np.int64)

    def counts_of_sorted(self, values: np.ndarray) -> np.ndarray:
        """Numeric bin counts from values sorted with NaN last (what np.sort gives)."""
        finite = len(values) - int(np.count_nonzero(np.isnan(values)))
        cuts = np.searchsorted(values[:finite], np.asarray(self.edges), side="right")
        counts = np.diff(np.concatenate([[0], cuts, [finite]]))
        return np.append(counts, len(values) - finite).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "bins": list(self.bins),
            "counts": list(self.counts),
        }
        data["ratios"] = [float(r) for r in self.ratios]
        if self.type == "numeric":
            data["edges"] = list(self.edges)
            if self.mean is not None and self.std is not None:
                data["mean"], data["std"] = self.mean, self.std
                data["beyond"] = self.beyond or 0.0
        else:
            data["categories"] = list(self.categories)
        if self.warning:
            data["warning"] = self.warning
        return data

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> FeatureProfile:
        kind = data["type"]
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"type must be numeric or categorical, got {kind!r}")
        feature = cls(
            name=name,
            type=kind,
            bins=tuple(str(b) for b in data["bins"]),
            counts=tuple(_count(c, f"{name}.counts") for c in data["counts"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
            mean=_finite(data["mean"], f"{name}.mean") if "mean" in data else None,
            std=_finite(data["std"], f"{name}.std") if "std" in data else None,
            beyond=_share(data["beyond"], f"{name}.beyond") if "beyond" in data else None,
        )
        if (feature.mean is None) != (feature.std is None) or (feature.std or 0) < 0:
            raise ValueError(f"{name}: mean and std come together, std 0 or more")
        if len(feature.bins) != len(feature.counts) or feature.bins[-1:] != (MISSING,):
            raise ValueError(f"{name}: bins and counts must align and end with 'missing'")
        if kind == "numeric" and len(feature.bins) != len(feature.edges) + 2:
            raise ValueError(f"{name}: a numeric feature has len(edges) + 2 bins")
        edges = np.asarray(feature.edges, dtype=float)
        if not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise ValueError(f"{name}: edges must be finite and increasing")
        if kind == "categorical" and feature.bins[-2:-1] != (OTHER,):
            raise ValueError(f"{name}: a categorical feature's bins end with {OTHER!r}, 'missing'")
        return feature


# What a (possibly hand-edited) profile file holds is checked before anything counts with it:
# a ValueError here is "invalid profile", exit 2.


def count_beyond(values: np.ndarray, mean: float | None, std: float | None) -> int:
    """How many finite ``values`` lie more than Z_LIMIT standard deviations from ``mean``;
    with a constant reference (std 0), how many differ from it. Missing values are not
    counted (the ``missing`` bin counts them). The profile's ``beyond`` and the server's
    out-of-range counter both count with it."""
    if mean is None or std is None:
        return 0
    x = np.asarray(values, dtype=float)
    # bounds, not |x - mean|: no overflow for values near 1e308, and no temporary per value
    beyond = (x > mean + Z_LIMIT * std) | (x < mean - Z_LIMIT * std) if std > 0 else x != mean
    return int(np.count_nonzero(beyond & np.isfinite(x)))


def _finite(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: {value!r} is not a finite number")
    return float(value)


def _share(value: object, key: str) -> float:
    share = _finite(value, key)
    if not 0 <= share <= 1:
        raise ValueError(f"{key}: {value!r} is not a share (0 to 1)")
    return share


def _count(value: object, key: str) -> int:
    """A whole number, 0 or more."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0 and float(value).is_integer())
    ):
        raise ValueError(f"{key}: {value!r} is not a count (a whole number, 0 or more)")
    return int(value)


def _features(data: object) -> dict[str, FeatureProfile]:
    if not isinstance(data, dict) or not data:
        raise ValueError("features must map each feature name to its bins")
    return {str(name): FeatureProfile.from_dict(str(name), spec) for name, spec in data.items()}


def _probabilities(data: Any, key: str) -> tuple[float, ...]:
    values = tuple(float(c) for c in data)
    if not all(0 <= c <= 1 for c in values):  # False for NaN too
        raise ValueError(f"{key} holds probabilities (0 to 1)")
    return values


@dataclass(frozen=True)
class Profile:
    features: dict[str, FeatureProfile]
    n_rows: int
    model: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # The model's output on the reference data (score, class or value), when profiled.
    prediction: FeatureProfile | None = None
    # Binary classifiers: P(positive | prediction bin) on held-out reference rows, for the
    # label-free quality estimate (driftloop.drift.binned_quality); empty when unknown.
    calibration: tuple[float, ...] = ()
    # Text features: the reference vocabulary their descriptor features are counted against.
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Multiclass: each class's calibration table (driftloop.drift.class_quality).
    class_calibration: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @functools.cached_property
    def known_words(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(words) for name, words in self.vocabularies.items()}

    def with_descriptors(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` plus the descriptor columns (``message.length``, ...) of its text features."""
        return with_descriptors(df, self.known_words)

    @property
    def column_types(self) -> dict[str, ColumnType]:
        """The data columns the profile reads: text features in place of their descriptors."""
        described = {d for name in self.vocabularies for d in descriptor_names(name)}
        types: dict[str, ColumnType] = {
            n: f.type for n, f in self.features.items() if n not in described
        }
        return types | dict.fromkeys(self.vocabularies, "text")

    @property
    def columns(self) -> list[str]:
        return list(self.column_types)

    @property
    def types(self) -> dict[str, FeatureType]:
        return {name: feature.type for name, feature in self.features.items()}

    @property
    def warnings(self) -> dict[str, str]:
        """Features the reference leaves the tests nearly blind to (all missing, constant)."""
        return {n: f.warning for n, f in self.features.items() if f.warning is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "model": self.model,
            "created_at": self.created_at,
            "n_rows": self.n_rows,
            "features": {name: f.to_dict() for name, f in self.features.items()},
            **({"prediction": self.prediction.to_dict()} if self.prediction else {}),
            **({"prediction_calibration": list(self.calibration)} if self.calibration else {}),
            **({"text": vocabularies_dict(self.vocabularies)} if self.vocabularies else {}),
            **(
                {
                    "prediction_class_calibration": {
                        k: list(v) for k, v in self.class_calibration.items()
                    }
                }
                if self.class_calibration
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: object, source: str = "profile") -> Profile:
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise DataError(
                f"{source}: not a driftloop profile (format {PROFILE_FORMAT!r} expected)"
            )
        try:
            prediction = data.get("prediction")
            features = _features(data["features"])
            return cls(
                features,
                _count(data["n_rows"], "n_rows"),
                data.get("model"),
                str(data["created_at"]),
                FeatureProfile.from_dict("prediction", prediction) if prediction else None,
                _probabilities(data.get("prediction_calibration", ()), "prediction_calibration"),
                parse_vocabularies(data.get("text", {}), set(features)),
                parse_class_calibration(
                    data.get("prediction_class_calibration", {}), "prediction_class_calibration"
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DataError(f"{source}: invalid profile: {error}") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Profile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: cannot read profile: {error}") from None
        return cls.from_dict(data, str(path))


def _numeric_feature(name: str, values: np.ndarray, bins: int) -> FeatureProfile:
    finite = values[~np.isnan(values)]
    if len(finite):
        # Observed values as edges (inverted CDF), so discrete data gets no empty bins.
        # np.quantile partitions rather than sorts: linear time.
        edges = np.unique(np.quantile(finite, np.arange(1, bins) / bins, method="inverted_cdf"))
    else:
        edges = np.array([], dtype=float)
    labels = (*(str(i) for i in range(len(edges) + 1)), MISSING)
    partial = FeatureProfile(name, "numeric", labels, (0,) * len(labels), tuple(map(float, edges)))
    counts = partial.counts_of(values)
    if not len(finite):
        return FeatureProfile(name, "numeric", labels, tuple(int(c) for c in counts), partial.edges)
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e154 overflow std
        mean, std = float(np.mean(finite)), float(np.std(finite))
    if not (math.isfinite(mean) and math.isfinite(std)):  # no usable range: none counted
        return FeatureProfile(name, "numeric", labels, tuple(int(c) for c in counts), partial.edges)
    beyond = count_beyond(finite, mean, std) / len(finite)
    return FeatureProfile(name, "numeric", labels, tuple(int(c) for c in counts), partial.edges,
                          mean=mean, std=std, beyond=beyond)  # fmt: skip


def _categorical_feature(name: str, series: pd.Series, top_k: int) -> FeatureProfile:
    counts = category_counts(series)
    missing = counts.pop(MISSING, 0)
    other = counts.pop(OTHER, 0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = ranked[:top_k]
    other += sum(count for _, count in ranked[top_k:])
    categories = tuple(label for label, _ in kept)
    bins = (*categories, OTHER, MISSING)
    bin_counts = (*(count for _, count in kept), other, missing)
    return FeatureProfile(name, "categorical", bins, bin_counts, categories=categories)


def profile_values(
    name: str, values: pd.Series, kind: FeatureType, bins: int = 10, top_k: int = 20
) -> FeatureProfile:
    """Profile one series (e.g. the model's predictions on the reference data)."""
    if kind == "numeric":
        return _numeric_feature(name, numeric_values(values, name, "reference"), bins)
    return _categorical_feature(name, values, top_k)


def build_profile(
    df: pd.DataFrame,
    column_types: dict[str, ColumnType],
    bins: int = 10,
    top_k: int = 20,
    model: str | None = None,
) -> Profile:
    """Profile the reference frame ``df`` for the features in ``column_types``; a text
    feature is profiled as its descriptors (``driftloop.drift.text``)."""
    return profile_frame(df, column_types, bins, top_k, model)[0]


def profile_frame(
    df: pd.DataFrame,
    column_types: dict[str, ColumnType],
    bins: int = 10,
    top_k: int = 20,
    model: str | None = None,
) -> tuple[Profile, pd.DataFrame]:
    """The profile and ``df`` with its text features' descriptor columns (tokenised once:
    ``compare`` then reuses them)."""
    if len(df) == 0:
        raise DataError("reference data has no rows")
    missing = [name for name in column_types if name not in df.columns]
    if missing:
        raise DataError(f"reference data lacks feature column(s): {', '.join(missing)}")
    types: dict[str, FeatureType] = {}
    vocabularies: dict[str, tuple[str, ...]] = {}
    for name, kind in column_types.items():
        if kind != "text":
            types[name] = kind
            continue
        vocabularies[name], described = profile_text(name, df[name])
        df = df.assign(**described)
        types |= dict.fromkeys(described, "numeric")

    def one(item: tuple[str, FeatureType]) -> FeatureProfile:
        return profile_values(item[0], df[item[0]], item[1], bins, top_k)

    # Partitioning and counting release the GIL: features run side by side on all cores.
    workers = max(1, min(len(types), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        features = dict(zip(types, pool.map(one, types.items()), strict=True))
    return Profile(features, len(df), model, vocabularies=vocabularies), df
