"""``driftloop serve``: the model server with drift telemetry."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftloop.bundle import ModelBundle, load_bundle
from driftloop.errors import ExitCode, UsageError
from driftloop.serve.app import Settings

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


def run(args: argparse.Namespace) -> int:
    from driftloop.serve.server import serve

    def load() -> ModelBundle:
        path, version = resolve(args.model_uri)
        return load_bundle(path, version)

    bundle = load()
    settings = Settings(
        max_body_bytes=args.max_body_bytes, max_rows=args.max_rows, telemetry=not args.no_telemetry
    )
    serve(bundle, args.host, args.port, settings, args.drain_seconds,
          reload=load if args.enable_reload else None)  # fmt: skip
    return ExitCode.OK
