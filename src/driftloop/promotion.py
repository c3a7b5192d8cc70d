"""`promote`: after a reviewed merge, record who approved it and move the champion alias.

MLflow records nobody who moves an alias; these version tags are the audit trail, written
before the alias moves so that a champion never lacks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftloop.adapters.registry import ModelRegistry
from driftloop.adapters.repohost import ProposalHost
from driftloop.errors import ConfigError, UsageError
from driftloop.gitops.overlay import OVERLAY_FILE, served_version

__all__ = ["Promotion", "promote"]


@dataclass(frozen=True)
class Promotion:
    model: str
    version: str
    promoted: bool
    reasons: list[str]
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "promoted": self.promoted,
            "reasons": self.reasons,
            "tags": self.tags,
        }


def promote(
    model: str,
    host: ProposalHost,
    registry: ModelRegistry,
    version: str | None = None,
    allow_unreviewed: bool = False,
) -> Promotion:
    text = host.read_file(OVERLAY_FILE, host.default_branch)
    served_model, served = served_version(text)
    if served_model != model:
        raise ConfigError(
            OVERLAY_FILE,
            "configMapGenerator.model-version",
            f"serves {served_model!r}, not {model!r}",
        )
    version = version or served
    if version is None:
        raise UsageError(f"{OVERLAY_FILE} pins an alias, not a version: nothing to promote")
    if version != served:
        raise UsageError(f"v{version} is not what {host.default_branch} serves (v{served})")
    if registry.alias_version(model, "champion") == version:
        return Promotion(model, version, True, [f"v{version} is the champion already"])
    pull = host.merged_pull_for(model, version)
    reviewed = pull is not None and bool(pull.approvals)
    if not reviewed and not allow_unreviewed:
        why = (
            "no merged driftloop pull request set it"
            if pull is None
            else (
                f"pull request #{pull.number} was merged without an approving review by "
                "someone other than its author"
            )
        )
        return Promotion(
            model,
            version,
            False,
            [
                f"refused: v{version} reached {host.default_branch} but {why}",
                "rerun with --allow-unreviewed to promote anyway (it is recorded)",
            ],
        )
    tags = {
        "approved_by": ",".join(pull.approvals) if pull else "",
        "merged_by": (pull.merged_by or "") if pull else "",
        "pr_url": pull.url if pull else "",
        "commit": (pull.merge_commit or "") if pull else "",
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promotion": "reviewed" if reviewed else "unreviewed (--allow-unreviewed)",
    }
    registry.set_version_tags(model, version, tags)
    registry.set_alias(model, "champion", version)
    return Promotion(
        model, version, True, [f"v{version} is now the champion ({tags['promotion']})"], tags
    )
