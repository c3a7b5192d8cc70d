"""retrain + gate of the churn demo on 100k rows: wall time and peak memory (issue #4).

Run: python benchmarks/retrain_gate.py [--hours 100 --rows-per-hour 1000]
A champion is trained and registered first (not timed) so that the gate compares two models
(bootstrap CIs, fairness, the latency harness). MLflow runs on SQLite in a temp directory.
Goal: retrain + gate <= 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMOTE = (
    "from driftloop.adapters.mlflow import MlflowRegistry\n"
    "MlflowRegistry.from_environment().set_alias('churn', 'champion', '1')"
)
# A fresh interpreter per step, so that its children's peak RSS is that step's alone.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(time.perf_counter() - start, peak, code)"
)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one command."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, peak_kib, code = result.stdout.split()
    return float(seconds), int(peak_kib) / 1024, int(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=100)
    parser.add_argument("--rows-per-hour", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftloop-bench-"))
    shutil.copytree(ROOT / "models", work / "models")
    shutil.copytree(ROOT / "policies", work / "policies")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "PYTHONWARNINGS": "ignore",
    }
    cli = [sys.executable, "-m", "driftloop.cli.main"]
    for setup in (
        [*cli, "retrain", "--model", "churn", "--out", "v1.json"],
        [sys.executable, "-c", PROMOTE],
    ):
        subprocess.run(setup, cwd=work, env=env, check=True, capture_output=True)
    data = f"demo://churn/persistent?hours={args.hours}&rows_per_hour={args.rows_per_hour}"
    retrain = [*cli, "retrain", "--model", "churn", "--data", data, "--out", "v2.json"]
    retrain_s, retrain_mb, code = timed(retrain, work, env)
    if code != 0:
        sys.exit("retrain failed")
    gate = [*cli, "gate", "--model", "churn", "--candidate", "v2.json", "--out", "gate.json"]
    gate_s, gate_mb, code = timed(gate, work, env)
    rows = args.hours * args.rows_per_hour
    print(
        f"rows: {rows:,} (train {int(rows * 0.8):,}, evaluate {int(rows * 0.2):,} + 5,000 golden)\n"
    )
    print("| step | wall time | peak RSS |\n|---|---|---|")
    print(f"| driftloop retrain | {retrain_s:.1f} s | {retrain_mb:.0f} MiB |")
    print(f"| driftloop gate (exit {code}) | {gate_s:.1f} s | {gate_mb:.0f} MiB |")
    print(f"| **retrain + gate** | **{retrain_s + gate_s:.1f} s** | |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
