"""``driftloop drift``: compare current data with reference data, exit 1 on drift."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import (
    at_least,
    check_output,
    emit,
    emit_json,
    model_features,
    profile_for,
)
from driftloop.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from driftloop.drift import DriftReport

# The tests `driftloop drift` runs (driftloop.drift.result.TEST_NAMES, checked equal in
# tests): named here so that building the argument parser imports no statistics.
TEST_NAMES = ("psi", "ks", "chisquare", "jensenshannon", "wasserstein", "hellinger")
SIGNIFICANCE_TESTS = ("ks", "chisquare")  # their threshold is alpha

__all__ = ["register"]


def _threshold(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in TEST_NAMES:
        raise argparse.ArgumentTypeError(f"unknown test {name!r} in {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not TEST=NUMBER") from None
    if name in SIGNIFICANCE_TESTS and not 0 < number < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {name} takes a significance level (alpha) between 0 and 1"
        )
    if not (math.isfinite(number) and number > 0):  # 0 would call every feature drifted
        raise argparse.ArgumentTypeError(f"{text!r}: the threshold must be a number above 0")
    return name, number


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "drift",
        help="compare current data with reference data",
        description="Run drift tests per feature. Exit 0 no drift, 1 drift, 2 bad input.",
    )
    parser.add_argument("--reference", help="reference data (optional with --profile)")
    parser.add_argument("--current", required=True, help="current data")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="use the model's features and binning")
    source.add_argument("--profile", type=Path, help="use a saved profile's features and bins")
    parser.add_argument("--models", type=Path, default=Path("models"), help="models directory")
    parser.add_argument(
        "--tests",
        help=f"comma-separated from {','.join(TEST_NAMES)} or 'all' "
        "(default: psi,ks for numeric, psi,chisquare for categorical)",
    )
    parser.add_argument(
        "--threshold",
        type=_threshold,
        action="append",
        default=[],
        metavar="TEST=VALUE",
        help="override a test's threshold (alpha for ks/chisquare); repeatable",
    )
    parser.add_argument("--correction", choices=("bh", "bonferroni", "none"), default="bh")
    parser.add_argument("--min-samples", type=at_least(1), default=100, help="rows needed to judge")
    parser.add_argument(
        "--psi-binning",
        choices=("profile", "sturges"),
        default="profile",
        help="profile: reference quantile bins (what Prometheus sees); "
        "sturges: Evidently 0.7's binning, to reproduce its numbers",
    )
    parser.add_argument(
        "--bins", type=at_least(2, 100), help="numeric quantile bins when profiling"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--html", type=Path, help="write Evidently's HTML report here")
    parser.set_defaults(handler=run)


def _summary(report: DriftReport) -> str:
    lines = [f"{'feature':<24} {'type':<12} {'status':<18} tests"]
    for name, feature in report.features.items():
        tests = "  ".join(
            f"{t}={r.score:.4g}"
            + (f"(p={r.p_adjusted:.3g})" if r.p_adjusted is not None else "")
            + ("*" if r.drifted else "")
            for t, r in feature.tests.items()
        )
        lines.append(f"{name:<24} {feature.type:<12} {feature.status:<18} {tests}")
    drifted = [n for n, f in report.features.items() if f.drifted]
    lines.append(
        f"{report.status}: {len(drifted)} of {len(report.features)} feature(s) drifted"
        f"{' (' + ', '.join(drifted) + ')' if drifted else ''}; "
        f"reference {report.n_reference} rows, current {report.n_current} rows"
    )
    lines += [f"warning: {name}: {text}" for name, text in report.warnings.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from driftloop.data.frames import read_frame
    from driftloop.drift import DriftOptions, Profile, compare, parse_tests

    if not args.reference and args.profile is None:
        raise UsageError("give --reference, or --profile to compare with a saved profile")
    check_output(args.html, "--html")
    # Only the features are read, text as categoricals: the tests only count values.
    if args.profile is not None:
        profile = Profile.load(args.profile)
        wanted: list[str] | None = profile.columns
    else:
        wanted = model_features(args.model, args.models) if args.model else None
    reference = read_frame(args.reference, wanted, categories=True) if args.reference else None
    if args.profile is None:
        assert reference is not None  # checked above
        profile, reference = profile_for(reference, args.model, args.models, args.bins)
    current = read_frame(args.current, profile.columns, categories=True)
    options = DriftOptions(
        tests=parse_tests(args.tests),
        thresholds=dict(args.threshold),
        correction=args.correction,
        min_samples=args.min_samples,
        psi_binning=args.psi_binning,
    )
    report = compare(reference, current, profile, options)
    if args.html is not None:
        if reference is None:
            raise UsageError("--html needs --reference")
        from driftloop.drift.report import write_html_report

        write_html_report(reference, current, profile.column_types, args.html)
    if args.json:
        emit_json(report.to_dict())
    else:
        emit(_summary(report))
    return ExitCode.FINDING if report.drifted else ExitCode.OK
