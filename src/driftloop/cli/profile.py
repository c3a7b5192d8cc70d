"""``driftloop profile``: build a reference profile (bins and counts) from data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftloop.cli.common import at_least, check_output, emit, profile_for
from driftloop.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "profile",
        help="build a reference profile from data",
        description="Bin every feature of the reference data (quantile bins for numeric, "
        "top-K categories for categorical) and write the profile as JSON.",
    )
    parser.add_argument("--data", required=True, help="parquet/CSV path, fsspec URI or demo://")
    parser.add_argument("--model", help="model name (models/<name>/model.yaml); else infer types")
    parser.add_argument("--models", type=Path, default=Path("models"), help="models directory")
    parser.add_argument(
        "--bins", type=at_least(2, 100), help="numeric quantile bins (default from model, 10)"
    )
    parser.add_argument(
        "--top-k", type=at_least(1, 1000), help="categories kept per feature (default 20)"
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write profile.json")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.data.frames import read_frame

    check_output(args.out, "--out")
    profile, _ = profile_for(read_frame(args.data), args.model, args.models, args.bins, args.top_k)
    profile.save(args.out)
    emit(f"wrote {args.out}: {len(profile.features)} features from {profile.n_rows} rows")
    for name, text in profile.warnings.items():
        emit(f"warning: {name}: {text}")
    return ExitCode.OK
