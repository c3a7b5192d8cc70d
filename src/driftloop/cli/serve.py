"""``driftloop serve``: the model server with drift telemetry."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.cli.common import at_least, port_number, positive_seconds, seconds
from driftloop.cli.promote import approval_keys_argument
from driftloop.errors import ExitCode, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from driftloop.config import GatePolicy
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
    parser.add_argument("--port", type=port_number, default=8080)
    parser.add_argument("--drain-seconds", type=seconds, default=5.0)
    parser.add_argument("--max-rows", type=at_least(1), default=10_000, help="rows per request")
    parser.add_argument("--max-body-bytes", type=at_least(1), default=5 * 2**20)
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
        type=seconds,
        default=float(os.environ.get("DRIFTLOOP_APPROVAL_WAIT_SECONDS", "480")),
        help="seconds to wait for the approval record (promote runs on the merge push)",
    )
    parser.add_argument(
        "--approval-poll", type=positive_seconds, default=10.0, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--golden",
        default=os.environ.get("DRIFTLOOP_GOLDEN_URI") or None,
        help="score the model on this golden set when it loads and export the metrics "
        "(driftloop_golden_metric) for the canary analysis (default: $DRIFTLOOP_GOLDEN_URI)",
    )
    parser.add_argument(
        "--gate-policy", type=Path, default=None,
        help="names the primary metric for --golden (default: $DRIFTLOOP_GATE_POLICY, else "
        "policies/gates.yaml if there)",
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


def _golden_inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, GatePolicy | None] | None:
    """The golden set and the gate policy, read before anything is served: a set that is
    not there or a policy that does not load is a configuration mistake (exit 2)."""
    from driftloop.config import load_gate_policy
    from driftloop.data.frames import read_frame

    if not args.golden:
        return None
    named = args.gate_policy or os.environ.get("DRIFTLOOP_GATE_POLICY")
    path = Path(named or "policies/gates.yaml")
    policy = load_gate_policy(path) if named or path.is_file() else None
    return read_frame(args.golden), policy


def _with_golden(
    bundle: ModelBundle, uri: str, frame: pd.DataFrame, policy: GatePolicy | None
) -> ModelBundle:
    """The bundle with its golden-set metrics. A golden set the model cannot score is said
    and left out: the model serves, and the canary's quality analysis, finding no metric,
    pauses the rollout for a human instead of passing it."""
    from dataclasses import replace

    from driftloop.config import GateSettings
    from driftloop.errors import DriftloopError
    from driftloop.serve.golden import golden_metrics

    settings = policy.settings_for(bundle.name) if policy else GateSettings()
    try:
        golden = golden_metrics(bundle, frame, settings)
    except (DriftloopError, ValueError, KeyError) as error:
        _say(f"no golden-set metrics for {bundle.name} v{bundle.version}: {error}")
        return bundle
    _say(f"golden set {uri}: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(golden.items())))
    return replace(bundle, golden=golden)


def _check_host(host: str, port: int) -> None:
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UsageError(f"--host {host!r}: not an address to listen on ({error})") from None


def _say(message: str) -> None:
    print(f"driftloop serve: {message}", file=sys.stderr, flush=True)  # noqa: T201 - the CLI


def run(args: argparse.Namespace) -> int:
    from driftloop.serve.app import Settings
    from driftloop.serve.approval import approval_required
    from driftloop.serve.server import serve
    from driftloop.train.bundle import load_bundle

    if args.require_approval is None:
        args.require_approval = approval_required(os.environ.get("DRIFTLOOP_REQUIRE_APPROVAL"))
    _check_host(args.host, args.port)
    golden = _golden_inputs(args)

    def load(wait: float = 0.0) -> ModelBundle:
        path, version = resolve(args.model_uri)
        if args.require_approval:  # what is verified is what was downloaded and is served
            _require_approval(
                args.model_uri, path, version, args.approval_keys, wait, args.approval_poll
            )
        bundle = load_bundle(path, version)
        return _with_golden(bundle, args.golden, *golden) if golden else bundle

    bundle = load(args.approval_wait)
    settings = Settings(
        max_body_bytes=args.max_body_bytes, max_rows=args.max_rows, telemetry=not args.no_telemetry
    )
    serve(bundle, args.host, args.port, settings, args.drain_seconds,
          reload=load if args.enable_reload else None)  # fmt: skip
    return ExitCode.OK
