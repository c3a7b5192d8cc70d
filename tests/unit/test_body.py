"""PR and issue bodies: nothing a user typed can become structure (markers, HTML, links,
mentions, table cells, fences), and workflow inputs are limited where they enter."""

from __future__ import annotations

import re

import pytest

from driftloop.errors import DataError, UsageError
from driftloop.gitops.body import escape_text, render_issue, render_pull_request
from driftloop.gitops.inputs import check_reason, check_trigger_id, parse_evidence

FORGED = "drift <!-- driftloop: model=churn version=9 trigger= --> @acme/ml-platform [ok](http://x)"
HOSTILE_FEATURE = "a`b|c\n## Approved by everyone\n```\n<!-- driftloop: model=churn version=9 -->"


def context(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "model": "churn", "version": "2", "trigger_id": "", "reason": FORGED, "run_id": "r`1",
        "model_uri": "models:/churn/2", "run_url": None, "workflow_run_url": None,
        "description": "<script>x</script>", "task": "binary", "target": "churned",
        "sensitive": "gender", "data_uri": "s3://bucket/x`y", "n_train": 10, "n_eval": 5,
        "data_digest": "sha256:x", "failed": ["per|class<!--"], "metrics": {"roc_auc": 0.9, "<b>": "<i>"}, "critical": 0.25,
        "gate": {"champion_version": "1", "passed": True, "failed": ["per|class"],
                 "gates": [{"name": "x|y<!--", "champion": "<s>", "candidate": 0.8, "delta": 0.1,
                            "threshold": 0.05, "passed": True, "dataset": "golden\n| forged | row |"}]},
        "evidence": {"top_features": [{"feature": HOSTILE_FEATURE, "psi": 0.3, "samples": 10}],
                     "since": "<!-- x -->", "window": "1h|2h"},
    }  # fmt: skip
    base.update(overrides)
    return base


@pytest.mark.parametrize("render", [render_pull_request, render_issue])
def test_user_text_cannot_forge_markers_html_mentions_or_links(render: object) -> None:
    body = render(context())  # type: ignore[operator]
    comments = re.findall(r"<!--.*?-->", body, flags=re.S)
    assert len(comments) == 1, comments  # driftloop's own marker, and only it
    assert "version=2" in comments[0]
    assert "version=9" not in comments[0]
    assert "<script>" not in body
    assert "<s>" not in body
    assert "<b>" not in body
    assert "@acme" not in body  # no mention of a team
    assert "[ok](http://x)" not in body  # no link from user text
    assert "\n## Approved" not in body  # no heading from a feature name


def test_values_cannot_add_table_rows_or_leave_code_spans() -> None:
    body = render_pull_request(context())
    rows = [line for line in body.splitlines() if line.startswith("| x")]
    assert len(rows) == 1
    # the cell separators of the gate row are the table's own 9, not more
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 9
    mermaid = body.split("```mermaid", 1)[1].split("```", 1)[0]
    assert "`" not in mermaid  # a feature name cannot close the fence
    assert "a_b_c_" in mermaid
    assert "`monthly_charges`" in render_pull_request(
        context(evidence={"top_features": [{"feature": "monthly_charges", "psi": 0.3}]})
    )


def test_long_values_are_cut() -> None:
    body = render_pull_request(context(reason="x" * 5000))
    assert "x" * 300 not in body
    assert "x" * 299 + "…" in body


def test_escaped_text_renders_as_itself() -> None:
    assert escape_text("monthly_charges *x* [y]") == r"monthly\_charges \*x\* \[y\]"
    assert escape_text("a\n\nb") == "a b"
    assert escape_text("<!--") == "&lt;!--"


def test_reason_and_trigger_id_limits() -> None:
    assert check_reason(" drift on churn ") == "drift on churn"
    for bad in ("", "x" * 201, "a\nb", "tab\there"):
        with pytest.raises(UsageError, match="reason"):
            check_reason(bad)
    assert check_trigger_id("churn-20260105T1205Z") == "churn-20260105T1205Z"
    assert check_trigger_id("") == ""
    for bad in ("<!--", "a b", "x" * 101, "-lead"):
        with pytest.raises(UsageError, match="trigger id"):
            check_trigger_id(bad)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1]", "must be a JSON object"),
        ("{", "not JSON"),
        ('{"top_features": {}}', "top_features: must be a list"),
        ('{"top_features": [{"feature": "a`b", "psi": 0.2}]}', r"top_features\[0\]\.feature"),
        ('{"top_features": [{"feature": "a", "psi": "0.2"}]}', r"top_features\[0\]\.psi"),
        ('{"top_features": [{"feature": "a", "psi": 0.2, "samples": true}]}', "samples"),
        ("{" + '"k": "' + "x" * 9000 + '"}', "at most 8000"),
    ],
)
def test_evidence_errors_name_the_key(text: str, problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        parse_evidence(text, "evidence.json")


def test_evidence_from_check_is_accepted() -> None:
    text = '{"top_features": [{"feature": "monthly_charges", "psi": 0.34, "samples": 1200}], "since": "x"}'
    assert parse_evidence(text)["top_features"][0]["psi"] == 0.34


def test_quality_evidence_renders_as_a_table_of_escaped_numbers() -> None:
    """A quality trigger's evidence (realised AUC and its threshold) is a table in the PR
    body; evidence typed into workflow_dispatch cannot add rows, markers or mentions."""
    breach = {"metric": "roc_auc", "value": 0.7012, "threshold": 0.75, "level": "critical",
              "rows": 950}  # fmt: skip
    hostile = {"metric": "x|y\n| forged | row |<!-- driftloop: version=9 -->", "value": 0.1,
               "threshold": 0.75, "level": "@acme/ml-platform", "rows": "<b>"}  # fmt: skip
    evidence = {"realised_performance": {"window": "1h", "breaches": [
        breach, hostile, {"metric": "no numbers", "value": "0.9", "threshold": None}]}}  # fmt: skip
    body = render_pull_request(context(trigger_id="churn-20260105T1205Z", evidence=evidence))
    assert "| realised quality (1h) | value | threshold | level | rows |" in body
    assert "| `roc_auc` | 0.701 | 0.75 | critical | 950 |" in body
    assert "Dispatched by `driftloop check` for **realised quality**, trigger" in body
    assert "no numbers" not in body  # a breach without numbers is not shown
    assert len(re.findall(r"<!--.*?-->", body, flags=re.S)) == 1
    assert "@acme" not in body
    assert "<b>" not in body
    rows = [line for line in body.splitlines() if "forged" in line and "0.100" in line]
    assert len(rows) == 1  # the hostile metric name stays in its one cell
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 6


@pytest.mark.parametrize(
    ("signal", "warnings", "words", "also"),
    [
        ("feature_drift", ["realised_performance"], "feature drift", "realised quality"),
        ("realised_performance", ["feature_drift", "prediction_drift"], "realised quality",
         "feature drift, prediction drift"),
        ("estimated_performance", [], "estimated quality", None),
    ],
)  # fmt: skip
def test_the_body_names_the_signal_that_fired_and_lists_the_others_as_warnings(
    signal: str, warnings: list[str], words: str, also: str | None
) -> None:
    """#20.8: a feature-drift trigger with a quality warning riding along was called a
    "quality episode" (the template looked for a quality block, not at what fired)."""
    breach = {"metric": "roc_auc", "value": 0.79, "threshold": 0.80, "level": "warn", "rows": 900}
    evidence = {
        "signal": signal, "warnings": warnings, "since": "2026-01-05T06:00:00+00:00",
        "critical_fraction": 0.9, "sustain": "6h",
        "top_features": [{"feature": "monthly_charges", "psi": 0.31, "samples": 1200}],
        "realised_performance": {"window": "1h", "level": "warn", "breaches": [breach]},
    }  # fmt: skip
    context_ = context(trigger_id="churn-20260105T0600Z", evidence=evidence, reason="drift: x")
    body = render_pull_request(context_)
    assert f"Dispatched by `driftloop check` for **{words}**, trigger" in body
    assert "quality episode" not in body
    assert ("drifting since" in body) == (signal == "feature_drift")
    if also:
        assert f"Also warning, not what triggered: {also}." in body
    else:
        assert "Also warning" not in body
    issue = render_issue({**context_, "gate": {**context_["gate"], "passed": False}})
    assert f"It was retrained for {words}, trigger" in issue


def test_a_dispatch_without_a_recorded_signal_is_named_from_its_reason() -> None:
    """Dispatches made before the check recorded ``signal`` name it from the reason."""
    evidence = {"top_features": [{"feature": "tenure", "psi": 0.3}],
                "realised_performance": {"level": "warn", "breaches": []}}  # fmt: skip
    body = render_pull_request(context(trigger_id="churn-x", evidence=evidence,
                                       reason="performance: realised roc_auc 0.7 < 0.75"))  # fmt: skip
    assert "for **realised quality**, trigger" in body
    body = render_pull_request(context(trigger_id="churn-x", evidence=evidence, reason="drift: x"))
    assert "for **feature drift**, trigger" in body


def test_a_scheduled_retrain_says_so() -> None:
    evidence = {"schedule": {"every": "monthly", "period_start": "2026-12-01T00:00:00+00:00"}}
    body = render_pull_request(
        context(
            trigger_id="churn-schedule-20261201",
            reason="schedule: monthly retrain due",
            evidence=evidence,
        )
    )
    assert "for **the model's retrain schedule**, trigger `churn-schedule-20261201`" in body
    assert "Drift evidence: no recorded drift" in body
