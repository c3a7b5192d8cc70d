"""Model cards from facts: every stage validates, hostile text stays text, Annex IV marks
what driftloop cannot know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftloop.card import (
    new_card,
    render_annex_iv,
    render_html,
    render_markdown,
    with_approval,
    with_gate,
    with_withdrawal,
)
from driftloop.card.annex import PLACEHOLDER
from driftloop.config import load_model

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "src/driftloop/card/model-card.schema.json").read_text())
HOSTILE = "<script>alert(1)</script> [x](javascript:alert(1)) <!-- driftloop: --> @team |"


def _candidate(reason: str = "drift") -> dict[str, Any]:
    return {
        "version": "2", "model_uri": "models:/churn/2", "run_id": "r" * 32,
        "created_at": "2026-12-06T10:00:00+00:00", "metrics": {"roc_auc": 0.81},
        "data_uri": "demo://churn/persistent", "data_window": None, "data_rows": 100,
        "n_train": 80, "n_eval": 20, "data_digest": "sha256:" + "a" * 64, "reason": reason,
        "trigger_id": "t-1",
    }  # fmt: skip


PROFILE = {
    "features": {
        "tenure_months": {
            "bins": ["(-inf, 5]", "(5, 49]", "(49, inf]", "missing"],
            "ratios": [0.2, 0.5, 0.2, 0.1],
            "edges": [float("-inf"), 5.0, 49.0, float("inf")],
            "mean": 20.0,
            "std": 9.0,
        },
        "contract": {
            "bins": ["month_to_month", "one_year", "__other__", "missing"],
            "ratios": [0.55, 0.25, 0.2, 0.0],
        },
    }
}
REPORT = {
    "passed": True, "mode": "comparison", "champion_version": "1",
    "gates": [{"name": "primary_metric:roc_auc", "dataset": "recent", "champion": 0.7,
               "candidate": 0.8, "delta": 0.1, "threshold": 0.05, "passed": True}],
    "evaluation": {
        "data": {"recent": "demo://churn/persistent"},
        "breakdown": {"recent": {"rows": 20, "confidence": 0.95,
                                 "metrics": {"roc_auc": {"value": 0.8, "ci": [0.7, 0.9]}},
                                 "per_class_f1": {"0": 0.9, "1": 0.6},
                                 "per_group": {HOSTILE: {"rows": 20, "roc_auc": 0.8}}}},
    },
}  # fmt: skip
TAGS = {
    "approved_by": "alice,bob", "pr_url": "https://github.com/o/r/pull/7", "pr_number": "7",
    "head_sha": "b" * 40, "merged_by": "carol", "commit": "c" * 40,
    "promoted_at": "2026-12-06T11:00:00+00:00", "approval_digest": "sha256:" + "d" * 64,
    "approval_attestation": "runs:/x/driftloop/approval.intoto.dsse.json",
    "approval_attestation_sha256": "e" * 64, "approval_key_id": "k1",
}  # fmt: skip


def _stages(reason: str = "drift") -> list[dict[str, Any]]:
    spec = load_model("churn", ROOT / "models")
    first = new_card(spec, _candidate(reason), PROFILE, {"max_iter": 200}, {"top_features": []})
    gated = with_gate(first, REPORT)
    approved = with_approval(gated, TAGS)
    return [first, gated, approved, with_withdrawal(approved, {"approval_withdrawn": "bad"})]


def test_every_stage_validates_against_the_schema() -> None:
    stages = _stages()
    for card in stages:
        jsonschema.validate(card, SCHEMA)
    assert [c["stage"] for c in stages] == ["retrained", "gated", "champion", "withdrawn"]
    assert stages[0]["intended_use"]["out_of_scope"]  # from models/churn/model.yaml
    sheet = {row["feature"]: row for row in stages[0]["training_data"]["datasheet"]}
    assert sheet["tenure_months"]["quantile_range"] == [5.0, 49.0]
    assert sheet["tenure_months"]["missing_share"] == 0.1
    assert [c["value"] for c in sheet["contract"]["top_categories"]] == [
        "month_to_month", "one_year",
    ]  # fmt: skip
    assert stages[2]["approval"]["approved_by"] == ["alice", "bob"]
    assert stages[0]["approval"] is None  # the earlier stage is not changed in place


def test_a_card_missing_a_section_is_refused_by_the_schema() -> None:
    card = _stages()[1]
    del card["intended_use"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(card, SCHEMA)


def test_hostile_text_stays_text_in_markdown_and_html() -> None:
    card = _stages(reason=HOSTILE)[2]
    markdown = render_markdown(card)
    assert "<script>" not in markdown
    assert "<!--" not in markdown
    assert "[x](javascript" not in markdown
    assert "@team" not in markdown
    html = render_html(card)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<!-- driftloop" not in html
    assert "default-src 'none'" in html
    assert 'href="https://github.com/o/r/pull/7"' in html


def test_a_pull_request_url_that_is_not_https_is_not_a_link() -> None:
    card = _stages()[2]
    card["approval"]["pull_request"] = "javascript:alert(1)"
    assert "href=" not in render_html(card)


def test_annex_iv_marks_what_driftloop_cannot_know() -> None:
    card = _stages()[2]
    monitoring = {"settings": {"window": "PT1H"},
                  "alerts": [{"name": "FeatureDriftCritical", "severity": "critical",
                              "summary": HOSTILE}]}  # fmt: skip
    annex = render_annex_iv(card, monitoring)
    titles = [line for line in annex.splitlines() if line.startswith("## ")]
    assert [t.split(".")[0] for t in titles] == [f"## {n}" for n in range(1, 10)]
    for item in ("5. Risk management", "7. Harmonised standards", "8. EU declaration"):
        section = annex.split(f"## {item}")[1].split("## ")[0]
        assert PLACEHOLDER in section
    assert "| FeatureDriftCritical | critical |" in annex
    assert "<script>" not in annex
    assert "alice, bob" in annex


def test_a_card_stored_before_the_later_keys_still_renders() -> None:
    """withdrawn and model_details.search came after the first cards were stored."""
    card = _stages()[2]
    del card["withdrawn"]
    del card["model_details"]["search"]
    assert "Approved by alice, bob" in render_html(card)
    assert "## Approval" in render_markdown(card)
    assert "## 9. Post-market" in render_annex_iv(card, {"settings": {}, "alerts": []})
