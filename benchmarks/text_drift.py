"""Offline text drift vs Evidently on the same messages (issue #19.5): tickets' reference
against its persistent stream, 100,000 messages a side.

Run: python benchmarks/text_drift.py [--rows N]
Prints a markdown table for docs/benchmarks.md. Goal: `driftloop drift` on a text column
(descriptors + domain classifier, profile included) >= 5x faster than Evidently's text drift
(DataDriftPreset on a text column: its domain classifier), with the same verdict.
"""

from __future__ import annotations

import argparse

import pandas as pd
from drift_engine import timed  # benchmarks/ is on sys.path when run as a script

from driftloop.drift import DriftOptions, compare, profile_frame
from driftloop.synthetic import scenarios


def frames(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = scenarios.reference("tickets", rows)[["message"]]
    hours = rows // 1000 + 14
    stream = scenarios.stream("tickets", "persistent", hours=hours)
    onset = pd.Timestamp(scenarios.STREAM_START) + pd.Timedelta(hours=scenarios.ONSET_HOURS)
    current = stream[stream["event_time"] >= onset].head(rows)[["message"]]
    return reference.reset_index(drop=True), current.reset_index(drop=True)


def ours(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[bool, float]:
    # as `driftloop drift --reference` does: the reference is tokenised once
    profile, described = profile_frame(reference, {"message": "text"})
    report = compare(described, current, profile, DriftOptions())
    return report.features["message"].drifted, report.features["message"].tests[
        "domain_classifier"
    ].score


def evidently(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[bool, float]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(text_columns=["message"])
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    for metric in snapshot.dict()["metrics"]:
        if "message" in str(metric.get("metric_name", "")) and "ValueDrift" in str(
            metric.get("metric_name", "")
        ):
            score = float(metric["value"])
            return score > 0.55, score
    raise RuntimeError("no drift value for message in Evidently's report")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    reference, current = frames(args.rows)
    ours_seconds, (ours_drift, ours_auc) = timed(lambda: ours(reference, current))
    theirs_seconds, (theirs_drift, theirs_auc) = timed(
        lambda: evidently(reference, current), repeat=1
    )
    print(f"| measurement ({len(reference):,} + {len(current):,} messages) | value |")
    print("|---|---|")
    print(f"| Evidently DataDriftPreset on the text column | {theirs_seconds:.2f} s "
          f"(AUC {theirs_auc:.3f}, drift {theirs_drift}) |")  # fmt: skip
    print(f"| driftloop: profile + descriptors + domain classifier | {ours_seconds:.2f} s "
          f"(AUC {ours_auc:.3f}, drift {ours_drift}) |")  # fmt: skip
    print(f"| **speed-up** | **{theirs_seconds / ours_seconds:.1f}x** |")


if __name__ == "__main__":
    main()
