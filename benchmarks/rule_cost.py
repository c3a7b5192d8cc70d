"""Rule evaluation cost at fleet scale (issue #20.5), from Prometheus's own
``prometheus_rule_group_last_duration_seconds``.

A real Prometheus evaluates the generated rule groups (policies/drift.yaml, every group every
10 seconds: the cost of one evaluation does not depend on how often it runs) over backfilled
series for ``--models`` models of ``--features`` features with ``--bins`` bins each, plus as
many prediction bins:
- the daily increases the ``driftloop-daily`` group records, for 30 days (30 a series),
  which the ``driftloop-30d`` group sums; with ``--hourly``, 720 hourly increases instead
  (the design this replaced), summed the same way;
- the raw bin counters and reference gauges at a 15s scrape for the last ``--raw-hours``
  hours: the 5m and 1h groups read them at their real density; the 24h and daily groups
  read only those hours of their 24 (lower bounds; the last column scales the whole group
  time by the missing samples, an upper bound since the joins do not grow with them);
- for comparison, ``naive-30d``: the same PSI from ``increase(...[30d])`` of the raw counters,
  which over ``--raw-hours`` reads raw-hours/720 of what it would at 30 days (scaled likewise).

promtool backfills one 2h block per call (its openmetrics import re-reads the whole input for
every 2h block, so one file for 30 days would be read 360 times).

Run: python benchmarks/rule_cost.py [--models 200]  (prints a markdown table)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from driftloop.config import load_drift_policy
from driftloop.demo.processes import prometheus
from driftloop.generate.recording import psi_rules
from driftloop.generate.rules import build_groups, settings_from_policy

ROOT = Path(__file__).resolve().parents[1]
SCRAPE = 15
BLOCK = 2 * 3600


def series_labels(models: int, features: int, bins: int) -> list[tuple[str, str]]:
    """(metric prefix, label text) for every bin series: feature bins, then prediction bins."""
    bin_names = [*map(str, range(bins - 1)), "missing"]
    found = []
    for m in range(models):
        model = f'model="m{m:03d}",version="1"'
        for f in range(features):
            found += [("feature", f'bin="{b}",feature="f{f}",{model}') for b in bin_names]
        found += [("prediction", f'bin="{b}",{model}') for b in bin_names]
    return found


def backfill(
    folder: Path, labels: list[tuple[str, str]], end: int, raw_hours: int, step: int
) -> None:
    """One OpenMetrics file and one promtool call per 2h block, oldest first."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool not found (scripts/setup.sh installs prometheus)"
    rng = np.random.default_rng(0)
    rates = rng.uniform(20, 200, size=len(labels))  # rows an hour per bin
    raw_start = end - raw_hours * 3600
    start = end - 30 * 86400
    tsdb = folder / "tsdb"
    for block in range(start - start % BLOCK, end + 1, BLOCK):
        lines: list[str] = []
        # the recorded increases: one a day (or an hour), at the same time of day
        increments = [t for t in range(end, start, -step) if block <= t < block + BLOCK]
        for kind in ("feature", "prediction"):
            name = f"driftloop:{kind}_bin_total:{'increase1d' if step == 86400 else 'increase1h'}"
            lines.append(f"# TYPE {name} gauge")
            for (prefix, text), rate in zip(labels, rates, strict=True):
                if prefix == kind:
                    value = rate * step / 3600
                    lines += [f"{name}{{{text}}} {value:.0f} {t}" for t in increments[::-1]]
        scrapes = [t for t in range(block, block + BLOCK, SCRAPE) if raw_start <= t <= end]
        if scrapes:
            steps = np.asarray(scrapes)
            for kind in ("feature", "prediction"):
                counter = f"driftloop_{kind}_bin"  # samples driftloop_<kind>_bin_total
                ratio = f"driftloop_{kind}_reference_ratio"
                lines.append(f"# TYPE {counter} counter")
                for (prefix, text), rate in zip(labels, rates, strict=True):
                    if prefix == kind:
                        values = np.floor((steps - raw_start) * rate / 3600)
                        lines += [
                            f"{counter}_total{{{text}}} {v:.0f} {t}"
                            for v, t in zip(values, scrapes, strict=True)
                        ]
                lines.append(f"# TYPE {ratio} gauge")
                for prefix, text in labels:
                    if prefix == kind:
                        lines += [f"{ratio}{{{text}}} 0.125 {t}" for t in scrapes]
        if len(lines) <= 4:
            continue
        source = folder / "block.om"
        source.write_text("\n".join(lines) + "\n# EOF\n")
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
            check=True, capture_output=True,
        )  # fmt: skip
    (folder / "block.om").unlink(missing_ok=True)


def blocks(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("prometheus_tsdb_blocks_loaded "):
            return float(line.split()[1])
    return 0.0


def settle(url: str) -> None:
    """Wait until compaction has merged the backfilled 2h blocks (a running Prometheus keeps
    30 days in a few large blocks; 360 small ones would make every range read pay 360 index
    lookups)."""
    seen = [blocks(url)]
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        time.sleep(20)
        seen.append(blocks(url))
        if len(seen) >= 4 and seen[-1] == seen[-4] and seen[-1] < 40:
            break
    print(f"blocks loaded: {seen[0]:.0f} -> {seen[-1]:.0f}", file=sys.stderr)


def durations(url: str) -> dict[str, float]:
    found = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("prometheus_rule_group_last_duration_seconds{"):
            group = line.split('rule_group="', 1)[1].split('"', 1)[0].rsplit(";", 1)[1]
            found[group] = float(line.rsplit(" ", 1)[1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--features", type=int, default=6)
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--raw-hours", type=int, default=2)
    parser.add_argument("--readings", type=int, default=6)
    parser.add_argument("--hourly", action="store_true", help="720 hourly increases instead")
    args = parser.parse_args()
    policy = load_drift_policy(ROOT / "policies/drift.yaml")
    groups = build_groups(settings_from_policy(policy))
    for group in groups:
        for rule in group["rules"]:
            if args.hourly:
                rule["expr"] = rule["expr"].replace(":increase1d", ":increase1h")
            if group["name"] == "driftloop-daily":  # measured, kept apart from the history
                rule["record"] += "_measured"
    naive = psi_rules("feature", "model, version, feature", "30d")
    for rule in naive:
        rule["record"] = rule["record"].replace(":30d", ":naive30d")
        rule["expr"] = rule["expr"].replace(":30d", ":naive30d")
    groups.append({"name": "naive-30d", "rules": naive})
    for group in groups:
        group["interval"] = "10s"
    labels = series_labels(args.models, args.features, args.bins)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.monotonic()
        # The data runs 30 minutes ahead, so the 5m window has rows while the rules run
        # (Prometheus answers for now, never the future).
        step = 3600 if args.hourly else 86400
        backfill(folder, labels, int(time.time()) + 1800, args.raw_hours, step)
        print(
            f"backfilled {len(labels)} bin series in {time.monotonic() - began:.0f}s",
            file=sys.stderr,
        )
        with prometheus(folder, [], groups, tsdb=folder / "tsdb") as url:
            settle(url)
            readings: dict[str, list[float]] = {}
            deadline = time.monotonic() + 600
            while min((len(v) for v in readings.values()), default=0) < args.readings:
                if time.monotonic() > deadline:
                    raise TimeoutError("rule groups did not evaluate in 10 minutes")
                time.sleep(10)
                for name, seconds in durations(url).items():
                    if seconds > 0:
                        readings.setdefault(name, []).append(seconds)
    seen = args.raw_hours - 0.5  # raw hours up to now (the last half hour is ahead)
    raw_share = {"driftloop-24h": 24 / seen, "driftloop-daily": 24 / seen, "naive-30d": 720 / seen}
    print(
        f"\n{args.models} models x ({args.features} features + prediction) x {args.bins} bins "
        f"= {len(labels)} bin series; median of {args.readings} evaluations\n"
    )
    print("| group | seconds per evaluation | scaled to its full raw window (upper bound) |")
    print("|---|---|---|")
    for name in sorted(readings, key=lambda g: (g == "naive-30d", g)):
        median = statistics.median(readings[name])
        scaled = f"{median * raw_share[name]:.2f}" if name in raw_share else "="
        print(f"| {name} | {median:.3f} | {scaled} |")


if __name__ == "__main__":
    main()
