"""The model card stored with each version: written by retrain, updated by gate and promote.

The card is an artifact of the version's run (``driftloop/model-card.json``, rendered as
``model-card.md`` beside it for the MLflow UI), pointed at by tag ``driftloop.model_card``;
each step stores the whole card again, so the version always carries its latest card.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftloop.adapters.registry import ModelRegistry
from driftloop.card.render import render_markdown
from driftloop.errors import DataError

__all__ = [
    "CARD_ARTIFACT",
    "CARD_TAG",
    "monitoring_plan",
    "store_card",
    "stored_card",
    "update_card",
]

CARD_ARTIFACT = "driftloop/model-card.json"
CARD_MARKDOWN = "driftloop/model-card.md"
CARD_TAG = "driftloop.model_card"
# What every card has had since the first format (later keys, such as withdrawn, are optional)
SECTIONS = (
    "format", "structure", "stage", "model_details", "intended_use", "factors", "metrics",
    "evaluation_data", "training_data", "quantitative_analyses", "ethical_considerations",
    "caveats_and_recommendations", "trigger", "approval",
)  # fmt: skip


def store_card(registry: ModelRegistry, model: str, version: str, card: dict[str, Any]) -> str:
    text = json.dumps(card, indent=2) + "\n"  # in the sections' order
    uri = registry.write_version_artifact(model, version, CARD_ARTIFACT, text)
    registry.write_version_artifact(model, version, CARD_MARKDOWN, render_markdown(card))
    registry.set_version_tags(model, version, {CARD_TAG: uri})
    return uri


def stored_card(registry: ModelRegistry, model: str, version: str) -> dict[str, Any] | None:
    """The card stored with ``version``; None when it has none. A stored card that is not
    one is an error naming it: a card is evidence, and a broken one must not pass as empty."""
    pointer = registry.version_tags(model, version).get(CARD_TAG)
    text = registry.read_artifact(pointer) if pointer else None
    if text is None:
        return None
    try:
        card = json.loads(text)
    except ValueError as error:
        raise DataError(
            f"the model card of {model} v{version} ({pointer}) is not JSON: {error}"
        ) from None
    if not isinstance(card, dict) or not isinstance(card.get("model_details"), dict):
        raise DataError(f"the model card of {model} v{version} ({pointer}) is not a model card")
    missing = [key for key in SECTIONS if key not in card]
    if missing:
        raise DataError(
            f"the model card of {model} v{version} ({pointer}) lacks {', '.join(missing)}"
        )
    details = card["model_details"]
    if (details.get("name"), str(details.get("version"))) != (model, str(version)):
        raise DataError(
            f"the card tagged on {model} v{version} ({pointer}) describes "
            f"{details.get('name')} v{details.get('version')}: a tag pointing elsewhere"
        )
    return card


def update_card(
    registry: ModelRegistry,
    model: str,
    version: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> bool:
    """Apply ``change`` to the stored card and store it again; False when the version has no
    card (registered before cards, or by hand): nothing is invented for it."""
    card = stored_card(registry, model, version)
    if card is None:
        return False
    store_card(registry, model, version, change(card))
    return True


def monitoring_plan(model: str, policy_path: Path) -> dict[str, Any]:
    """The post-market monitoring plan Annex IV asks for: the model's drift policy and the
    alerts the generated PrometheusRule raises (the same functions write it)."""
    from driftloop.config import load_drift_policy
    from driftloop.generate.rules import build_groups, settings_from_policy

    policy = load_drift_policy(policy_path)
    settings = policy.settings_for(model).model_dump(mode="json", exclude_none=True)
    alerts = [
        {
            "name": rule["alert"],
            "severity": rule["labels"].get("severity", ""),
            "summary": rule.get("annotations", {}).get("summary", ""),
        }
        for group in build_groups(settings_from_policy(policy))
        for rule in group["rules"]
        if "alert" in rule
    ]
    unique = {alert["name"]: alert for alert in alerts}
    return {"policy": str(policy_path), "settings": settings, "alerts": list(unique.values())}
