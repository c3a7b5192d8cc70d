"""Technical documentation in the order of the EU AI Act's Annex IV (Regulation (EU)
2024/1689), assembled from a version's model card and the drift policy; what driftloop
cannot know is a marked placeholder for the provider to fill in."""

from __future__ import annotations

import re
from typing import Any

from driftloop.card.render import datasheet_lines, gates_lines, metrics_lines
from driftloop.gitops.body import escape_text

__all__ = ["PLACEHOLDER", "render_annex_iv"]

PLACEHOLDER = "**[TO FILL IN]**"


def _placeholder(what: str) -> list[str]:
    return [f"{PLACEHOLDER} {what}"]


def _general(card: dict[str, Any]) -> list[str]:
    d = card["model_details"]
    uses = card["intended_use"]
    return [
        f"- **Intended purpose**: {escape_text(uses.get('primary_uses') or '—')}",
        "- **Not intended for**: "
        + ("; ".join(escape_text(u) for u in uses.get("out_of_scope", [])) or "—"),
        (
            f"- **System and version**: {escape_text(d['name'])} v{escape_text(d['version'])} "
            f"({escape_text(d['model_uri'])}), {escape_text(d['task'])} of "
            f"{escape_text(d['target'])}"
        ),
        (
            "- **Software it runs with**: the driftloop model server image pinned by digest in "
            "k8s/overlays/production; the bundle's requirements.txt pins scikit-learn and numpy"
        ),
        (
            f"- {PLACEHOLDER} Provider's name, the forms the system is placed on the market in, "
            "the hardware it runs on, the user interface and the instructions for use (Annex IV "
            "1(a), (d)-(h))"
        ),
    ]


def _development(card: dict[str, Any]) -> list[str]:
    d = card["model_details"]
    params = ", ".join(f"{escape_text(k)}={escape_text(v)}" for k, v in d["parameters"].items())
    return [
        (
            f"- **Methods and design**: {escape_text(d['estimator'])} ({params}), trained by "
            "`driftloop retrain` on a time-ordered window, the newest slice held out"
        ),
        (
            f"- **Code**: commit {escape_text(d.get('git_commit') or '—')}, run "
            f"{escape_text(d['run_id'])}"
        ),
        (
            "- **Human oversight (Article 14)**: no version serves production until a code owner "
            "approves the pull request that pins it and the merge is verified and signed by "
            "`driftloop promote` (docs/security.md)"
        ),
        (
            "- **Predetermined changes**: retraining on new data when policies/drift.yaml "
            "triggers; the estimator and features change only through reviewed commits"
        ),
        (
            "- **Cybersecurity**: Bandit scan of the model's code at every gate, signed approvals, "
            "non-root read-only containers (docs/security.md)"
        ),
        "",
        "**Data (datasheet)**",
        "",
        *datasheet_lines(card.get("training_data")),
        "",
        "**Validation and testing**",
        "",
        *gates_lines(card.get("quantitative_analyses")),
    ]


def _performance(card: dict[str, Any]) -> list[str]:
    limits = card["caveats_and_recommendations"].get("limitations") or []
    return [
        *metrics_lines(card),
        "",
        f"- **Groups**: {escape_text(card['ethical_considerations'])}",
        "- **Known limitations**: "
        + ("; ".join(escape_text(x) for x in limits) or "none recorded in model.yaml"),
        (
            f"- {PLACEHOLDER} Foreseeable unintended outcomes and sources of risk to health, "
            "safety and fundamental rights (Annex IV 3)"
        ),
    ]


def _flat(value: Any, prefix: str = "") -> list[str]:
    """A nested policy setting as ``key.sub=value`` pairs."""
    if not isinstance(value, dict):
        return [f"{prefix}={value}" if prefix else str(value)]
    return [pair for k, v in value.items() for pair in _flat(v, f"{prefix}.{k}" if prefix else k)]


_LABEL = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def _plain_summary(text: str) -> str:
    """An alert's summary template with its labels as <name>."""
    return _LABEL.sub(lambda m: f"<{m.group(1)}>", text)


def _monitoring(monitoring: dict[str, Any]) -> list[str]:
    settings = monitoring.get("settings", {})
    lines = [
        (
            "driftloop's drift policy for this model (policies/drift.yaml) and the alerts that "
            "page the on-call:"
        ),
        "",
        *(
            f"- **{escape_text(k)}**: {escape_text(', '.join(_flat(v)))}"
            for k, v in settings.items()
        ),
        "",
        "| alert | severity | summary |",
        "|---|---|---|",
    ]
    lines += [
        f"| {escape_text(a['name'])} | {escape_text(a['severity'])} | "
        f"{escape_text(_plain_summary(a['summary']))} |"
        for a in monitoring.get("alerts", [])
    ]
    return lines


def render_annex_iv(card: dict[str, Any], monitoring: dict[str, Any]) -> str:
    """``monitoring``: ``settings`` (the model's drift policy) and ``alerts`` (name, severity,
    summary) from driftloop.loop.card.monitoring_plan."""
    d = card["model_details"]
    approval = card.get("approval")
    sections: list[tuple[str, list[str]]] = [
        ("1. General description of the AI system", _general(card)),
        ("2. Elements of the AI system and its development process", _development(card)),
        ("3. Monitoring, functioning and control; performance and its limits", _performance(card)),
        (
            "4. Appropriateness of the performance metrics",
            [
                (
                    "The gates judge the policy's primary metric with a paired bootstrap against "
                    "the serving model, per-class and per-group gates, a golden set and latency "
                    "(policies/gates.yaml); see 2 and 3."
                ),
            ],
        ),
        (
            "5. Risk management system (Article 9)",
            _placeholder(
                "Reference to the provider's risk management system; driftloop's gates, drift "
                "policy and approvals are controls within it, not the system."
            ),
        ),
        (
            "6. Changes through the lifecycle",
            [
                (
                    f"Version {escape_text(d['version'])} was retrained because: "
                    f"{escape_text(card['trigger'].get('reason') or '—')} (trigger "
                    f"{escape_text(card['trigger'].get('trigger_id') or 'manual')}). Every "
                    "version's card, gate report and approval are stored with it in MLflow."
                ),
                *(
                    [
                        (
                            f"Approved by {escape_text(', '.join(approval['approved_by']))} in "
                            f"{escape_text(approval.get('pull_request'))}, bundle "
                            f"{escape_text(approval.get('bundle_digest'))}."
                        )
                    ]
                    if approval
                    else ["Not promoted yet: no reviewed approval."]
                ),
            ],
        ),
        (
            "7. Harmonised standards applied",
            _placeholder("The harmonised standards or other specifications applied."),
        ),
        (
            "8. EU declaration of conformity",
            _placeholder("A copy of the EU declaration of conformity (Article 47)."),
        ),
        ("9. Post-market monitoring plan (Article 72)", _monitoring(monitoring)),
    ]
    out = [
        (
            f"# Technical documentation (EU AI Act, Annex IV): {escape_text(d['name'])} "
            f"v{escape_text(d['version'])}"
        ),
        "",
        (
            f"Assembled by `driftloop card --format annex-iv` from the model card stored with the "
            f"version (stage {escape_text(card.get('stage'))}). Items marked {PLACEHOLDER} are "
            "for the provider: driftloop cannot know them."
        ),
    ]
    for title, lines in sections:
        out += ["", f"## {title}", "", *lines]
    return "\n".join(out) + "\n"
