"""``driftloop serve``: the model server with drift telemetry."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.promote import approval_keys_argument
from driftloop.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from driftloop.train.bundle import ModelBundle

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve a model with drift telemetry",
        description="Serve POST /invocations (MLflow scoring protocol), POST /feedback, "
        "GET /metrics, /healthz, /readyz. On SIGTERM: not ready for --drain-seconds, then "
        "finish in-flight requests and stop.",
    )
    parser.add_argument(
        "--model-uri",
        required=True,
        help="models:/NAME/VERSION, models:/NAME@ALIAS (MLflow) or a local bundle directory",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--drain-seconds", type=float, default=5.0)
    parser.add_argument("--max-rows", type=int, default=10_000, help="rows per request")
    parser.add_argument("--max-body-bytes", type=int, default=5 * 2**20)
    parser.add_argument("--no-telemetry", action="store_true", help="for benchmarks only")
    parser.add_argument(
        "--require-approval",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve a registry version only if its signed approval attestation (written by "
        "driftloop promote after a reviewed merge) verifies against --approval-keys for the "
        "exact bundle loaded; waits --approval-wait seconds for it, then exits 1 (default: "
        "$DRIFTLOOP_REQUIRE_APPROVAL; on in the production manifests)",
    )
    approval_keys_argument(parser)
    parser.add_argument(
        "--approval-wait",
        type=float,
        default=float(os.environ.get("DRIFTLOOP_APPROVAL_WAIT_SECONDS", "480")),
        help="seconds to wait for the approval record (promote runs on the merge push)",
    )
    parser.add_argument("--approval-poll", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--golden",
        default=os.environ.get("DRIFTLOOP_GOLDEN_URI") or None,
        help="score the model on this golden set when it loads and export the metrics "
        "(driftloop_golden_metric) for the canary analysis (default: $DRIFTLOOP_GOLDEN_URI)",
    )
    parser.add_argument(
        "--gate-policy", type=Path, default=Path(os.environ.get(
            "DRIFTLOOP_GATE_POLICY", "policies/gates.yaml")),
        help="names the primary metric for --golden (default: policies/gates.yaml)",
    )  # fmt: skip
    parser.add_argument(
        "--enable-reload",
        action="store_true",
        help="POST /-/reload loads --model-uri again (e.g. after the champion alias moved)",
    )
    parser.set_defaults(handler=run)


def resolve(uri: str) -> tuple[Path, str | None]:
    """A local bundle directory and the registry version, for any supported URI."""
    if uri.startswith(("models:/", "runs:/")):
        from driftloop.adapters.mlflow import MlflowRegistry

        return MlflowRegistry.from_environment().download(uri)
    path = Path(uri)
    if not path.is_dir():
        raise UsageError(f"--model-uri {uri!r}: not a directory nor a models:/ URI")
    return path, None


def _require_approval(
    uri: str, bundle: Path, version: str | None, keys: Path, wait: float, poll: float
) -> None:
    from driftloop.adapters.mlflow import MlflowRegistry
    from driftloop.serve.approval import await_approval, registry_version

    registry = MlflowRegistry.from_environment()
    model, named = registry_version(uri, registry)
    if version is not None and version != named:  # an alias moved while it was downloaded
        raise UsageError(f"--model-uri {uri!r} moved from v{named} to v{version}; retry")
    result = await_approval(registry, model, named, bundle, keys, wait, poll, _say)
    _say(f"{model} v{named}: {result.reasons[0]}")


def _with_golden(bundle: ModelBundle, uri: str, policy: Path) -> ModelBundle:
    """The bundle with its golden-set metrics. A golden set that cannot be read or scored is
    said and left out: the model serves, and the canary's quality analysis, finding no
    metric, pauses the rollout for a human instead of passing it."""
    from dataclasses import replace

    from driftloop.config import GateSettings, load_gate_policy
    from driftloop.data.frames import read_frame
    from driftloop.errors import DriftloopError
    from driftloop.serve.golden import golden_metrics

    try:
        settings = (
            load_gate_policy(policy).settings_for(bundle.name)
            if policy.is_file()
            else GateSettings()
        )
        golden = golden_metrics(bundle, read_frame(uri), settings)
    except (DriftloopError, ValueError, KeyError) as error:
        _say(f"no golden-set metrics for {bundle.name} v{bundle.version}: {error}")
        return bundle
    _say(f"golden set {uri}: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(golden.items())))
    return replace(bundle, golden=golden)


def _say(message: str) -> None:
    print(f"driftloop serve: {message}", file=sys.stderr, flush=True)  # noqa: T201 - the CLI


def run(args: argparse.Namespace) -> int:
    from driftloop.serve.app import Settings
    from driftloop.serve.approval import approval_required
    from driftloop.serve.server import serve
    from driftloop.train.bundle import load_bundle

    if args.require_approval is None:
        args.require_approval = approval_required(os.environ.get("DRIFTLOOP_REQUIRE_APPROVAL"))

    def load(wait: float = 0.0) -> ModelBundle:
        path, version = resolve(args.model_uri)
        if args.require_approval:  # what is verified is what was downloaded and is served
            _require_approval(
                args.model_uri, path, version, args.approval_keys, wait, args.approval_poll
            )
        bundle = load_bundle(path, version)
        return _with_golden(bundle, args.golden, args.gate_policy) if args.golden else bundle

    bundle = load(args.approval_wait)
    settings = Settings(
        max_body_bytes=args.max_body_bytes, max_rows=args.max_rows, telemetry=not args.no_telemetry
    )
    serve(bundle, args.host, args.port, settings, args.drain_seconds,
          reload=load if args.enable_reload else None)  # fmt: skip
    return ExitCode.OK
