"""``driftloop pin-image``: what release.yml runs after pushing the image: a pull request
that pins its digest in k8s/base, so a new image reaches production through review."""

from __future__ import annotations

import argparse
from typing import Any

from driftloop.cli.common import emit, emit_json
from driftloop.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    from driftloop.cli.propose import host_arguments

    parser: argparse.ArgumentParser = commands.add_parser(
        "pin-image",
        help="open a pull request pinning a new image digest in k8s/base",
        description="Set the digest of the image in k8s/base/kustomization.yaml (images:) on "
        "branch driftloop/image-<digest> and open a pull request; every workload runs it once "
        "the pull request is reviewed and merged.",
    )
    parser.add_argument("--digest", required=True, help="sha256:<64 hex digits>")
    parser.add_argument("--image", default="ghcr.io/driftloop/driftloop-server")
    parser.add_argument("--json", action="store_true")
    host_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from driftloop.cli.propose import proposal_host
    from driftloop.gitops.images import BASE_FILE, pinned_digest, set_image_digest
    from driftloop.loop.provenance import git_commit, workflow_run_url

    host = proposal_host(args)
    current = host.read_file(BASE_FILE, host.default_branch)
    set_image_digest(current, args.digest, args.image)  # a bad digest fails before any write
    result: dict[str, object]
    if pinned_digest(current, args.image) == args.digest:
        result = {"action": "unchanged", "number": None, "url": None}
    else:
        short = args.digest.removeprefix("sha256:")[:12]
        run_url, commit = workflow_run_url(), git_commit()
        body = (
            f"Pins `{args.image}@{args.digest}` in `{BASE_FILE}`: once merged, every model's "
            "Rollout canaries it and the drift check runs it."
            + (f"\n\nBuilt from commit `{commit}`" if commit else "")
            + (f" by {run_url}." if run_url else "")
        )
        pull = host.open_pull(
            "image", f"driftloop/image-{short}", f"Deploy image {short}", body,
            {BASE_FILE: lambda text: set_image_digest(text, args.digest, args.image)},
            f"k8s/base: run {args.image}@{args.digest}", ["driftloop", "image"], [],
        )  # fmt: skip
        result = {"action": "created", "number": pull.number, "url": pull.url}
    if args.json:
        emit_json(result)
    else:
        emit(f"image {args.digest}: pull request {result['action']} {result['url'] or ''}".rstrip())
    return ExitCode.OK
