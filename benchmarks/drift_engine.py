"""Drift engine vs Evidently on the same frames: 1M rows x 25 columns (20 numeric, 5
categorical with 10 levels), reference and current each.

Run: python benchmarks/drift_engine.py [--rows N] [--skip-evidently]
Prints a markdown table for docs/benchmarks.md. Goals (issue #2): PSI on all columns >= 50x
faster than Evidently's DataDriftPreset(method="psi"); all six tests <= 1.5 s; peak memory
growth <= 0.5x the input frames. Issue #16: the CLI end to end (`driftloop drift --tests psi`
on the two frames as parquet files: start-up, reading, profile, compare) >= 20x faster than
Evidently in process, measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from driftloop.drift import DriftOptions, build_profile, compare
from driftloop.drift.columns import infer_types
from driftloop.drift.result import TEST_NAMES


def make_frames(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{i}" for i in range(10)], dtype=object)

    # In the current frame four numeric columns move by 0.005, 0.05, 0.3 and 0.6 standard
    # deviations (from "certain but trivial" to "large") and one categorical column tilts.
    shifts = [0.005, 0.05, 0.3, 0.6]

    def frame(current: bool) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for i in range(20):
            moved = shifts[i] if current and i < len(shifts) else 0.0
            data[f"num_{i:02d}"] = rng.normal(moved, 1.0, rows) * (1.0 + 0.1 * i)
        for i in range(5):
            p = np.linspace(1.0, 3.0 if current and i == 0 else 2.0, 10)
            data[f"cat_{i}"] = rng.choice(levels, rows, p=p / p.sum())
        return pd.DataFrame(data)

    return frame(current=False), frame(current=True)


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_growth(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run_driftloop(ref: pd.DataFrame, cur: pd.DataFrame, tests: tuple[str, ...]) -> Any:
    profile = build_profile(ref, infer_types(ref))
    return compare(ref, cur, profile, DriftOptions(tests=tests))  # type: ignore[arg-type]


def run_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> Any:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c in ref.columns if c.startswith("num_")],
        categorical_columns=[c for c in ref.columns if c.startswith("cat_")],
    )
    return Report([DataDriftPreset(method="psi")]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )


def run_cli(ref: pd.DataFrame, cur: pd.DataFrame) -> float:
    """Best of three wall times of `driftloop drift --tests psi` on the frames as parquet."""
    work = Path(tempfile.mkdtemp(prefix="driftloop-bench-drift-"))
    try:
        ref.to_parquet(work / "reference.parquet")
        cur.to_parquet(work / "current.parquet")
        command = [sys.executable, "-m", "driftloop.cli.main", "drift", "--tests", "psi",
                   "--reference", str(work / "reference.parquet"),
                   "--current", str(work / "current.parquet")]  # fmt: skip

        def once() -> None:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode not in (0, 1):
                raise RuntimeError(result.stderr)

        return timed(once)[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    ref, cur = make_frames(args.rows)
    input_bytes = int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum())

    psi_s, psi_report = timed(lambda: run_driftloop(ref, cur, ("psi",)))
    all_s, _ = timed(lambda: run_driftloop(ref, cur, TEST_NAMES))
    peak = peak_growth(lambda: run_driftloop(ref, cur, TEST_NAMES))
    rows = [
        ("driftloop PSI, all 25 columns (profile + compare)", f"{psi_s:.3f} s"),
        ("driftloop all six tests, all 25 columns", f"{all_s:.3f} s"),
        (
            "peak memory growth, all six tests",
            f"{peak / 2**20:.0f} MiB ({peak / input_bytes:.2f}x input)",
        ),
        ("input frames (reference + current)", f"{input_bytes / 2**20:.0f} MiB"),
        (
            "features drifted (PSI >= 0.1)",
            str(sum(f.drifted for f in psi_report.features.values())),
        ),
    ]
    cli_s = run_cli(ref, cur)
    cli_row = "`driftloop drift --tests psi` on the parquet files, end to end"
    rows.insert(2, (cli_row, f"{cli_s:.2f} s"))
    if not args.skip_evidently:
        ev_s, _ = timed(lambda: run_evidently(ref, cur), repeat=1)
        rows.insert(0, ('Evidently 0.7 DataDriftPreset(method="psi")', f"{ev_s:.2f} s"))
        rows.insert(2, ("speed-up of driftloop PSI over Evidently", f"{ev_s / psi_s:.0f}x"))
        rows.insert(5, ("speed-up of the CLI, end to end, over Evidently", f"{ev_s / cli_s:.0f}x"))
    print(
        f"rows per frame: {args.rows:,}; python {platform.python_version()}; numpy {np.__version__}"
    )
    print("\n| measurement | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
