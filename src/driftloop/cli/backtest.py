"""``driftloop backtest``: how many retrains would this policy have fired over a period?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import (
    check_tasks,
    emit,
    emit_json,
    parse_step,
    parse_time,
    prometheus_url,
    selected_models,
)
from driftloop.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from driftloop.policy.backtest import ModelBacktest

__all__ = ["register"]

# Decisions replayed per model: two years at the CronJob's 5m (a start of 0 would be 57 years,
# and hours of queries and replay before any answer).
MAX_STEPS = 210_240


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backtest",
        help="replay the drift policy over Prometheus history",
        description="Decide at every step between --start and --end exactly as `driftloop "
        "check` would have, with cooldown and the weekly cap simulated, and list the "
        "would-be triggers per model. Tune policies/drift.yaml with it.",
    )
    parser.add_argument("--prometheus", help="Prometheus URL (default: $DRIFTLOOP_PROMETHEUS_URL)")
    parser.add_argument("--start", required=True, help="ISO 8601, Unix seconds, or -90d")
    parser.add_argument("--end", default="now")
    parser.add_argument("--step", default="5m", help="the CronJob interval to simulate")
    parser.add_argument("--policy", type=Path, default=Path("policies/drift.yaml"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--model", action="append", help="only this model (repeatable)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def _table(results: list[ModelBacktest], start: str, end: str) -> str:
    lines = [
        f"policy backtest from {start} to {end}",
        "",
        (
            f"{'model':<16} {'triggers':>8} {'suppressed':>10} {'detected':>8} {'warn':>6} "
            f"{'ok':>6} {'no data':>8}"
        ),
    ]
    for r in results:
        c = r.counts
        lines.append(
            f"{r.model:<16} {len(r.triggers):>8} {c['suppressed']:>10} {c['detected']:>8} "
            f"{c['warn']:>6} {c['ok']:>6} "
            f"{c['insufficient_data']:>8}"
        )
    for r in results:
        lines.extend(
            f"  {r.model}: detected at {d.at.isoformat() if d.at else '?'} "
            f"({d.signal}: {d.reasons[0]})"
            for d in r.detections
        )
        for d in r.triggers:
            top = ", ".join(
                f"{f['feature']} {f['psi']:.3f}" for f in d.evidence.get("top_features", [])[:3]
            )
            if d.signal != "feature_drift":
                lines.append(f"  {r.model}: trigger at {d.at.isoformat() if d.at else '?'} "
                             f"({d.signal}: {'; '.join(d.reasons)})")  # fmt: skip
                continue
            lines.append(f"  {r.model}: trigger at {d.at.isoformat() if d.at else '?'} "
                         f"(drift since {d.evidence.get('since')}; {top})")  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from driftloop.adapters.prometheus import PrometheusSource
    from driftloop.config import load_drift_policy
    from driftloop.loop.check import lookback, with_fast, with_quality
    from driftloop.policy.backtest import replay

    policy = load_drift_policy(args.policy)
    models = selected_models(args.models, args.model)
    check_tasks(policy, args.models, models, str(args.policy))
    start, end = parse_time(args.start, flag="--start"), parse_time(args.end, flag="--end")
    step = parse_step(args.step)
    if end <= start:
        raise UsageError("--end must be after --start")
    steps = (end - start) // step
    if steps > MAX_STEPS:
        raise UsageError(
            f"--start {args.start} to --end {args.end} is {steps:,} steps of {args.step}; at most "
            f"{MAX_STEPS:,} (a larger --step, or a shorter period)"
        )
    results = []
    with PrometheusSource(prometheus_url(args.prometheus)) as source:
        for model in models:
            window = policy.window_name(model)
            span = lookback(policy, model)
            hellinger = policy.uses_hellinger(model)
            snapshots = source.timeline(model, window, start - span, end, step, hellinger)
            quality_window = policy.quality_window_name(model)
            if quality_window is not None:
                found = source.quality([model], quality_window, start - span, end, step)
                snapshots = with_quality(snapshots, found.get(model, {}), end)
            detect_window = policy.detection_window_name(model)
            if detect_window is not None:
                fast = source.timeline(model, detect_window, start - span, end, step)
                if quality_window is not None:
                    found = source.quality([model], detect_window, start - span, end, step)
                    fast = with_quality(fast, found.get(model, {}), end)
                snapshots = with_fast(snapshots, fast)
            results.append(replay(model, snapshots, policy, start, end, step, span))
    if args.json:
        emit_json({"start": start.isoformat(), "end": end.isoformat(), "step": args.step,
                   "models": {r.model: r.to_dict() for r in results}})  # fmt: skip
    else:
        emit(_table(results, start.isoformat(), end.isoformat()))
    return ExitCode.OK
