"""`driftloop check` over 200 models x 30 features (x 12 bins of reference gauges) against a
real Prometheus holding 12 hours of recorded PSI at 5-minute resolution (issue #5).

Run: python benchmarks/check.py [--models 200 --features 30] [--quality]
With --quality every model also has a performance block (AUC thresholds) and a recorded
realised AUC and labelled-row count (issue #15): the check adds one range query for them.
Measures one check run over all models, as the CronJob runs it (every model of a models
directory): wall time, peak RSS, the queries it sent and Prometheus's own time answering
them; and the detection latency of a lasting shift (onset to trigger) on the same data.
Goals (issue #16): 200 models < 1.5 s, 2,000 models < 10 s, RSS < 500 MB; latency <= sustain +
one CronJob interval + 2 minutes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from driftloop.demo.processes import prometheus

ROOT = Path(__file__).resolve().parents[1]

POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
defaults: {window: 1h, min_samples: 500, sustain: 6h, sustain_fraction: 0.8, cooldown: 1h,
           thresholds: {psi: {warn: 0.1, critical: 0.25}}}
"""
QUALITY = """,
           performance: {window: 1h, min_labels: 500, sustain: 3h,
                         thresholds: {roc_auc: {warn: 0.80, critical: 0.75}}}}
"""
STEP = 300
HOURS = 12


def write_history(
    path: Path, models: int, features: int, end: int, onset: int, quality: bool = False
) -> None:
    rng = random.Random(0)
    start = end - HOURS * 3600
    with path.open("w") as out:
        for name in ("driftloop:model_roc_auc:1h", "driftloop:feedback_scored_samples:1h"):
            out.write(f"# TYPE {name} gauge\n" if quality else "")
            for m in range(models if quality else 0):
                labels = f'{{model="m{m:03d}",version="1"}}'
                for ts in range(start, end + 1, STEP):
                    value = 900.0 if "samples" in name else rng.uniform(0.77, 0.82)
                    out.write(f"{name}{labels} {value:.5f} {ts}\n")
        for name, kind in (
            ("driftloop:feature_psi:1h", "psi"),
            ("driftloop:feature_samples:1h", "rows"),
        ):
            out.write(f"# TYPE {name} gauge\n")
            for m in range(models):
                for f in range(features):
                    labels = f'{{feature="f{f:02d}",model="m{m:03d}",version="1"}}'
                    for ts in range(start, end + 1, STEP):
                        if kind == "rows":
                            value = 2000.0
                        else:  # model m000 shifts for good at onset in feature f00
                            value = (
                                0.4
                                if (m == 0 and f == 0 and ts >= onset)
                                else rng.uniform(0.0, 0.05)
                            )
                        out.write(f"{name}{labels} {value:.5f} {ts}\n")
        out.write("# TYPE driftloop_feature_reference_ratio gauge\n")
        for m in range(models):
            for f in range(features):
                for b in range(12):
                    labels = f'{{bin="{b}",feature="f{f:02d}",model="m{m:03d}",version="1"}}'
                    out.write(f"driftloop_feature_reference_ratio{labels} 0.0833 {end - 60}\n")
        out.write("# EOF\n")


def query_seconds(url: str) -> tuple[float, float]:
    """Queries Prometheus has answered so far and the seconds it spent (its own metrics)."""
    import httpx

    count = total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if 'handler="/api/v1/query' not in line:  # /api/v1/query and /api/v1/query_range
            continue
        if line.startswith("prometheus_http_request_duration_seconds_count"):
            count += float(line.rsplit(" ", 1)[1])
        elif line.startswith("prometheus_http_request_duration_seconds_sum"):
            total += float(line.rsplit(" ", 1)[1])
    return count, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--quality", action="store_true", help="add AUC thresholds and series")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftloop-bench-check-"))
    end = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    onset = end - 8 * 3600
    started = time.perf_counter()
    write_history(work / "history.om", args.models, args.features, end, onset, args.quality)
    subprocess.run(
        [
            shutil.which("promtool") or "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(work / "history.om"),
            str(work / "tsdb"),
        ],
        check=True,
        capture_output=True,
    )
    (work / "history.om").unlink()
    setup_s = time.perf_counter() - started
    policy = POLICY.replace("}}}\n", "}}" + QUALITY) if args.quality else POLICY
    (work / "drift.yaml").write_text(policy)
    measure = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(time.perf_counter() - t, peak, r.returncode,"
        " r.stdout.count('\\n'), r.stdout.count('\"trigger\"'))"
    )
    churn = (ROOT / "models/churn/model.yaml").read_text()
    for m in range(args.models):
        (work / "models" / f"m{m:03d}").mkdir(parents=True)
        (work / "models" / f"m{m:03d}" / "model.yaml").write_text(
            churn.replace("name: churn", f"name: m{m:03d}")
        )
    with prometheus(work, [], [], tsdb=work / "tsdb") as url:
        served = query_seconds(url)
        at = datetime.fromtimestamp(end, UTC).isoformat()
        command = [
            sys.executable,
            "-m",
            "driftloop.cli.main",
            "check",
            "--prometheus",
            url,
            "--policy",
            str(work / "drift.yaml"),
            "--models",
            str(work / "models"),
            "--dispatch",
            "none",
            "--json",
            "--at",
            at,
        ]
        out = subprocess.run(
            [sys.executable, "-c", measure, *command], capture_output=True, text=True, check=True
        )
        seconds, rss_kib, code, lines, triggers = out.stdout.split()
        queries, prometheus_s = (b - a for a, b in zip(served, query_seconds(url), strict=True))
        backtest = [
            sys.executable,
            "-m",
            "driftloop.cli.main",
            "backtest",
            "--prometheus",
            url,
            "--policy",
            str(work / "drift.yaml"),
            "--start",
            datetime.fromtimestamp(onset - 3600, UTC).isoformat(),
            "--end",
            at,
            "--models",
            str(work / "models"),
            "--model",
            "m000",
            "--json",
        ]
        import json

        report = json.loads(
            subprocess.run(backtest, capture_output=True, text=True, check=True).stdout
        )
    fired = datetime.fromisoformat(report["models"]["m000"]["triggers"][0]["at"])
    latency = fired - datetime.fromtimestamp(onset, UTC)
    series = args.models * args.features
    print(
        f"history: {series * 2:,} recorded series x {HOURS * 12 + 1} points, "
        f"{series * 12:,} reference-ratio series (backfill took {setup_s:.0f} s)\n"
    )
    print("| measurement | value |\n|---|---|")
    print(
        f"| one `check` over {args.models} models (exit {code}, {lines} decisions, "
        f"{triggers} trigger) | {float(seconds):.1f} s |"
    )
    print(f"| peak RSS of that check | {int(rss_kib) / 1024:.0f} MiB |")
    print(f"| queries it sent | {queries:.0f} |")
    print(f"| Prometheus's time answering them (its own request metrics) | {prometheus_s:.2f} s |")
    print(f"| detection latency, onset to trigger (sustain 6h at 80%, 5m steps) | {latency} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
