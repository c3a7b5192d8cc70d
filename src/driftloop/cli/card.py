"""``driftloop card``: the model card stored with a version, as markdown, JSON, HTML or the
EU AI Act's Annex IV technical documentation."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from driftloop.cli.common import check_output, emit, registry_from_environment
from driftloop.errors import DataError, ExitCode, UsageError

__all__ = ["register"]

FORMATS = ("md", "json", "html", "annex-iv")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "card",
        help="print the model card stored with a version (md, json, html, annex-iv)",
        description="Render the model card that retrain, gate and promote store with each "
        "version in MLflow (sections of Mitchell et al., Model Cards for Model Reporting). "
        "--format annex-iv assembles the EU AI Act's Annex IV technical documentation from "
        "the same facts and the drift policy, with placeholders for what driftloop cannot "
        "know. Exit 2 when the version has no card.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--version", required=True, help="a version number or an alias (champion, challenger)"
    )
    parser.add_argument("--format", choices=FORMATS, default="md")
    parser.add_argument("--out", type=Path, help="write here instead of standard output")
    parser.add_argument(
        "--policy", type=Path, default=Path("policies/drift.yaml"),
        help="the drift policy (annex-iv: the post-market monitoring plan)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def _version(registry: Any, model: str, version: str) -> str:
    from driftloop.loop.gate import VERSION_NUMBER
    from driftloop.loop.retrain import ALIAS_NAME

    if VERSION_NUMBER.match(version):
        return version
    if not ALIAS_NAME.match(version):
        raise UsageError(f"--version {version!r}: a version number or an alias")
    resolved = registry.alias_version(model, version)
    if resolved is None:
        raise DataError(f"{model} has no version with alias {version!r}")
    return str(resolved)


def run(args: argparse.Namespace) -> int:
    from driftloop.card import render_annex_iv, render_html, render_markdown
    from driftloop.config.model import NAME_PATTERN
    from driftloop.loop.card import monitoring_plan, stored_card

    if not re.match(NAME_PATTERN, args.model):
        raise UsageError(f"--model {args.model!r}: not a model name")
    check_output(args.out, "--out")
    monitoring = monitoring_plan(args.model, args.policy) if args.format == "annex-iv" else None
    registry = registry_from_environment()
    version = _version(registry, args.model, args.version)
    if registry.version_run(args.model, version) is None:
        raise DataError(f"{args.model} version {version} is not registered")
    card = stored_card(registry, args.model, version)
    if card is None:
        raise DataError(
            f"{args.model} v{version} has no model card (registered before cards, or not by "
            "driftloop retrain)"
        )
    if args.format == "json":
        text = json.dumps(card, indent=2) + "\n"
    elif args.format == "html":
        text = render_html(card)
    elif args.format == "annex-iv":
        text = render_annex_iv(card, monitoring or {})
    else:
        text = render_markdown(card)
    if args.out is None:
        emit(text.rstrip("\n"))
    else:
        args.out.write_text(text, encoding="utf-8")
    return ExitCode.OK
