"""A model card's facts, as JSON, gathered as a version moves through the loop.

The sections are Mitchell et al.'s "Model Cards for Model Reporting" (FAT* 2019), in the
order the Hugging Face model card template and Google's Model Card Toolkit use: model
details, intended use, factors, metrics, evaluation data, training data, quantitative
analyses, ethical considerations, caveats and recommendations. driftloop adds what its loop
knows: the trigger that started the retrain and, after promote, the approval.
``retrain`` starts a card, ``gate`` adds the evaluation, ``promote`` the approval; each
stores the whole card again with the version (driftloop.loop.card).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from driftloop.config import ModelSpec
from driftloop.drift.columns import MISSING, OTHER

__all__ = [
    "CARD_FORMAT",
    "STRUCTURE",
    "datasheet",
    "new_card",
    "with_approval",
    "with_gate",
    "with_withdrawal",
]

CARD_FORMAT = "driftloop/model-card/v1"
STRUCTURE = (
    "Mitchell et al. 2019, Model Cards for Model Reporting (sections as in the Hugging Face "
    "and Model Card Toolkit templates)"
)
TOP_CATEGORIES = 5


def _feature_sheet(name: str, kind: str, profile: dict[str, Any]) -> dict[str, Any]:
    bins = profile.get("bins", [])
    ratios = profile.get("ratios", [])
    shares = dict(zip(bins, ratios, strict=False))
    sheet: dict[str, Any] = {
        "feature": name,
        "type": kind,
        "missing_share": float(shares.get(MISSING, 0.0)),
    }
    if kind == "numeric":
        edges = [e for e in profile.get("edges", []) if isinstance(e, int | float)]
        finite = [e for e in edges if abs(e) != float("inf")]
        sheet["quantile_range"] = [min(finite), max(finite)] if finite else None
        sheet["mean"] = profile.get("mean")
        sheet["std"] = profile.get("std")
    else:
        named = [(b, r) for b, r in shares.items() if b not in (MISSING, OTHER)]
        named.sort(key=lambda item: -item[1])
        sheet["top_categories"] = [
            {"value": b, "share": float(r)} for b, r in named[:TOP_CATEGORIES]
        ]
    return sheet


def datasheet(spec: ModelSpec, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """Per feature of the reference profile: type, missing share, range or top categories."""
    features = profile.get("features", {})
    return [
        _feature_sheet(f.name, f.type, features.get(f.name, {}))
        for f in spec.features
        if isinstance(features.get(f.name), dict)
    ]


def new_card(
    spec: ModelSpec,
    candidate: dict[str, Any],
    profile: dict[str, Any],
    params: dict[str, Any],
    evidence: dict[str, Any] | None,
) -> dict[str, Any]:
    """The card ``retrain`` stores with the version it registered (``candidate``: what
    retrain returns; ``profile``: the training data's reference profile)."""
    estimator = spec.estimator.class_ if spec.estimator else f"hook:{spec.train_hook}"
    return {
        "format": CARD_FORMAT,
        "structure": STRUCTURE,
        "stage": "retrained",
        "model_details": {
            "name": spec.name,
            "version": str(candidate["version"]),
            "model_uri": candidate["model_uri"],
            "run_id": candidate["run_id"],
            "created_at": candidate["created_at"],
            "description": spec.description,
            "task": spec.task,
            "target": spec.target,
            "estimator": estimator,
            "parameters": {str(k): str(v) for k, v in params.items()},
            "git_commit": candidate.get("git_commit"),
            "workflow_run_url": candidate.get("workflow_run_url"),
            # the Optuna search that chose the parameters, when model.yaml asks for one
            "search": candidate.get("search"),
        },
        "intended_use": {
            "primary_uses": spec.intended_use or spec.description,
            "out_of_scope": list(spec.out_of_scope),
        },
        "factors": {"sensitive_attribute": spec.sensitive_attribute},
        "metrics": {"training": dict(candidate["metrics"]), "evaluation": None},
        "evaluation_data": None,
        "training_data": {
            "uri": candidate["data_uri"],
            "window": candidate.get("data_window"),
            "rows": candidate["data_rows"],
            "train_rows": candidate["n_train"],
            "eval_rows": candidate["n_eval"],
            "digest": candidate["data_digest"],
            "schema": [{"name": f.name, "type": f.type} for f in spec.features],
            "datasheet": datasheet(spec, profile),
        },
        "quantitative_analyses": None,
        "ethical_considerations": _ethics(spec),
        "caveats_and_recommendations": {"limitations": list(spec.limitations)},
        "trigger": {
            "reason": candidate.get("reason"),
            "trigger_id": candidate.get("trigger_id") or None,
            "evidence": evidence,
        },
        "approval": None,
        "withdrawn": None,
    }


def _ethics(spec: ModelSpec) -> str:
    if spec.sensitive_attribute:
        return (
            f"Groups of {spec.sensitive_attribute} are compared at every gate: demographic "
            "parity and equal opportunity gaps may not widen beyond the policy's limit."
        )
    return "No sensitive attribute is declared: no group fairness is checked."


def with_gate(card: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """The card after ``gate``: metrics with intervals per dataset, every gate's result."""
    out = deepcopy(card)
    evaluation = report.get("evaluation", {})
    out["stage"] = "gated" if report.get("passed") else "gate-failed"
    out["metrics"]["evaluation"] = evaluation.get("breakdown")
    out["evaluation_data"] = evaluation.get("data")
    out["quantitative_analyses"] = {
        "champion_version": report.get("champion_version"),
        "passed": report.get("passed"),
        "mode": report.get("mode"),
        "gates": [
            {
                key: gate.get(key)
                for key in ("name", "dataset", "candidate", "champion", "threshold", "passed")
            }
            for gate in report.get("gates", [])
        ],
        "champion": evaluation.get("champion"),
    }
    return out


def with_approval(card: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """The card after ``promote``: who approved which pull request, and the attestation."""
    out = deepcopy(card)
    out["stage"] = "champion"
    out["approval"] = {
        "approved_by": [a for a in tags.get("approved_by", "").split(",") if a],
        "merged_by": tags.get("merged_by") or None,
        "pull_request": tags.get("pr_url"),
        "pull_request_number": int(tags["pr_number"]) if tags.get("pr_number") else None,
        "head_sha": tags.get("head_sha"),
        "commit": tags.get("commit"),
        "promoted_at": tags.get("promoted_at"),
        "bundle_digest": tags.get("approval_digest"),
        "attestation": tags.get("approval_attestation"),
        "attestation_sha256": tags.get("approval_attestation_sha256"),
        "signing_key": tags.get("approval_key_id"),
    }
    return out


def with_withdrawal(card: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """The card after ``promote --withdraw``: the approval stays on record, marked withdrawn."""
    out = deepcopy(card)
    out["stage"] = "withdrawn"
    out["withdrawn"] = tags.get("approval_withdrawn")
    return out
