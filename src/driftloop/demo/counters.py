"""The drift counters a model server would export for a stream, one value a minute.

What Prometheus scrapes from ``driftloop serve`` (driftloop_feature_bin_total per feature and
bin, the reference gauges), computed straight from a timestamped frame and a profile, so the
generated rules can be run over hours of synthetic traffic by promtool (tests and
``benchmarks/detection.py``) without serving it in real time.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from driftloop.drift.profile import Profile

__all__ = ["promtool_series", "server_counters"]

Series = tuple[str, dict[str, str], list[float]]  # name, labels, one value a minute


def server_counters(
    profile: Profile, frame: pd.DataFrame, start: pd.Timestamp, minutes: int,
    labels: dict[str, str], time_column: str = "event_time",
) -> list[Series]:  # fmt: skip
    """Cumulative bin counts at minute 0..``minutes`` after ``start`` (a row counts from the
    minute after it arrives), plus the reference ratios and rows the server exports."""
    elapsed = (frame[time_column] - start).dt.total_seconds().to_numpy()
    edges = np.arange(minutes + 1) * 60.0
    upper = np.searchsorted(np.sort(elapsed), edges, side="right")
    order = np.argsort(elapsed, kind="stable")
    series: list[Series] = []
    points = minutes + 1
    for name, feature in profile.features.items():
        if name not in frame.columns:
            continue
        index = feature.bin_index(frame[name].iloc[order].reset_index(drop=True))
        one_hot = np.zeros((len(frame) + 1, len(feature.bins)))
        one_hot[np.arange(1, len(frame) + 1), index] = 1
        cumulative = np.cumsum(one_hot, axis=0)[upper]
        for column, (bin_, ratio) in enumerate(zip(feature.bins, feature.ratios, strict=True)):
            own = {**labels, "feature": name, "bin": bin_}
            series.append(("driftloop_feature_bin_total", own, cumulative[:, column].tolist()))
            series.append(("driftloop_feature_reference_ratio", own, [float(ratio)] * points))
    series.append(("driftloop_reference_rows", labels, [float(profile.n_rows)] * points))
    return series


def promtool_series(series: list[Series]) -> list[dict[str, str]]:
    """``input_series`` entries of a promtool unit test (one value per interval)."""
    entries = []
    for name, labels, values in series:
        matchers = ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
        entries.append(
            {"series": f"{name}{{{matchers}}}", "values": " ".join(f"{v:.12g}" for v in values)}
        )
    return entries
