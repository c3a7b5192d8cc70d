"""Enforcement where the model is served: in production the server refuses a registry
version that lacks driftloop's approval record (the tags `promote` writes after a reviewed
merge). A version pinned by a direct push never gets one, so its canary pods never become
ready and the Rollout aborts (ADR 0005).

`promote` runs on the merge push while Argo CD syncs the same commit, so the record may
land a few minutes after a pod starts: the server waits for it, for a bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from driftloop.adapters.registry import ModelRegistry
from driftloop.errors import RefusedError, UsageError
from driftloop.gitops.approval import APPROVAL_TAGS

__all__ = ["await_approval", "registry_version"]


def registry_version(uri: str, registry: ModelRegistry) -> tuple[str, str]:
    """(model, version) of ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``."""
    if not uri.startswith("models:/"):
        raise UsageError(
            f"--model-uri {uri!r}: an approval record lives on a registry version; "
            "serve models:/NAME/VERSION, or run without --require-approval"
        )
    ref = uri.removeprefix("models:/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        version = registry.alias_version(name, alias)
        if version is None:
            raise UsageError(f"--model-uri {uri!r}: {name} has no version with alias {alias}")
        return name, version
    name, _, version = ref.partition("/")
    return name, version


def await_approval(
    registry: ModelRegistry,
    model: str,
    version: str,
    wait_seconds: float,
    poll_seconds: float = 10.0,
    report: Callable[[str], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """The version's approval record, waiting up to ``wait_seconds`` for it to appear."""
    deadline = clock() + wait_seconds
    while True:
        tags = registry.version_tags(model, version)
        missing = [tag for tag in APPROVAL_TAGS if not tags.get(tag)]
        if not missing:
            return {tag: tags[tag] for tag in APPROVAL_TAGS}
        left = deadline - clock()
        if left <= 0:
            raise RefusedError(
                f"refusing to serve {model} v{version}: it has no approval record in MLflow "
                f"(missing tags {', '.join(missing)}). driftloop promote writes it after the "
                "merge of a reviewed pull request; a version that reached the overlay without "
                "one was not approved (docs/runbook.md: 'Canary pods wait for an approval')"
            )
        report(
            f"waiting for the approval record of {model} v{version} in MLflow (missing "
            f"{', '.join(missing)}; driftloop promote writes it after the merge): {left:.0f}s left"
        )
        sleep(min(poll_seconds, left))
