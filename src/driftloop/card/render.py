"""A model card as markdown or HTML. Every value is escaped: model.yaml text, a reason typed
into the dispatch form or a feature name could otherwise carry markup into the card."""

from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from driftloop.gitops.body import escape_text

__all__ = [
    "SECTIONS",
    "datasheet_lines",
    "gates_lines",
    "metrics_lines",
    "number",
    "render_html",
    "render_markdown",
]

# Mitchell et al.'s sections, then the loop's own, in the order a card shows them.
SECTIONS = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
    ("trigger", "Why it was retrained"),
    ("approval", "Approval"),
)


def number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _interval(metric: dict[str, Any]) -> str:
    ci = metric.get("ci")
    return f"[{number(ci[0])}, {number(ci[1])}]" if ci else "—"


def metrics_lines(card: dict[str, Any]) -> list[str]:
    lines = []
    training = card["metrics"].get("training") or {}
    lines.append(
        "At training, on the newest slice of the window: "
        + (", ".join(f"{escape_text(k)} {number(v)}" for k, v in training.items()) or "—")
    )
    for dataset, result in (card["metrics"].get("evaluation") or {}).items():
        confidence = round(100 * float(result.get("confidence", 0.95)))
        lines += [
            "",
            (
                f"**{escape_text(dataset)}** ({result.get('rows')} rows), "
                f"{confidence}% bootstrap intervals:"
            ),
            "",
            "| metric | value | interval |",
            "|---|---|---|",
        ]
        for name, metric in result.get("metrics", {}).items():
            lines.append(f"| {escape_text(name)} | {number(metric.get('value'))} | "
                         f"{_interval(metric)} |")  # fmt: skip
        if result.get("per_class_f1"):
            per_class = result["per_class_f1"].items()
            lines += ["", "F1 per class: " + ", ".join(
                f"{escape_text(k)} {number(v)}" for k, v in per_class)]  # fmt: skip
        if result.get("per_group"):
            names = [escape_text(name) for name in result["metrics"]]
            lines += ["", f"| group | rows | {' | '.join(names)} |",
                      "|---|---|" + "---|" * len(names)]  # fmt: skip
            for group, values in result["per_group"].items():
                cells = " | ".join(number(values.get(n)) for n in result["metrics"])
                lines.append(f"| {escape_text(group)} | {values.get('rows')} | {cells} |")
    return lines


def gates_lines(analyses: dict[str, Any] | None) -> list[str]:
    if not analyses:
        return ["Not gated yet."]
    champion = analyses.get("champion_version")
    lines = [
        (
            f"Against {'champion v' + escape_text(champion) if champion else 'no champion'}: "
            f"{'every gate passed' if analyses.get('passed') else 'a gate failed'}."
        ),
        "",
        "| gate | dataset | champion | candidate | threshold | result |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {escape_text(g.get('name'))} | {escape_text(g.get('dataset') or '—')} | "
        f"{number(g.get('champion'))} | {number(g.get('candidate'))} | "
        f"{number(g.get('threshold'))} | {'passed' if g.get('passed') else 'FAILED'} |"
        for g in analyses.get("gates", [])
    ]
    return lines


def _md_fields(values: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> list[str]:
    if not values:
        return ["—"]
    lines = []
    for key, value in values.items():
        if key in skip or value in (None, [], {}):
            continue
        if isinstance(value, list):
            text = "; ".join(escape_text(v) for v in value)
        elif isinstance(value, dict):
            text = ", ".join(f"{escape_text(k)} {escape_text(v)}" for k, v in value.items())
        else:
            text = escape_text(value)
        lines.append(f"- **{key.replace('_', ' ')}**: {text}")
    return lines or ["—"]


def datasheet_lines(training: dict[str, Any] | None) -> list[str]:
    if not training:
        return ["Not recorded."]
    lines = _md_fields(training, skip=("schema", "datasheet"))
    lines += [
        "",
        "| feature | type | missing | quantile range (inner bin edges) or top categories |",
        "|---|---|---|---|",
    ]
    for row in training.get("datasheet", []):
        if row["type"] == "numeric":
            low_high = row.get("quantile_range") or [None, None]
            spread = f"{number(low_high[0])} to {number(low_high[1])}"
        else:
            spread = ", ".join(
                f"{escape_text(c['value'])} {c['share']:.0%}" for c in row.get("top_categories", [])
            )
        lines.append(f"| {escape_text(row['feature'])} | {row['type']} | "
                     f"{row['missing_share']:.1%} | {spread} |")  # fmt: skip
    return lines


def _search_lines(found: object) -> list[str]:
    if not isinstance(found, dict):
        return []
    params = ", ".join(
        f"{escape_text(k)}={escape_text(v)}" for k, v in found["best_params"].items()
    )
    return [
        (
            f"- **hyper-parameter search**: {found['complete']} of {found['trials']} trials "
            f"complete on {found['workers']} worker(s); best validation "
            f"{escape_text(found['metric'])} {number(found['best_value'])} ({params}) against "
            f"{number(found['baseline_value'])} "
            "for model.yaml's own parameters"
        )
    ]


def _evidence_lines(evidence: object) -> list[str]:
    features = evidence.get("top_features") if isinstance(evidence, dict) else None
    if not isinstance(features, list) or not features:
        return []
    shown = [
        f"{escape_text(f.get('feature'))} PSI {number(f.get('psi'))}"
        for f in features[:5]
        if isinstance(f, dict)
    ]
    return [f"- **drift evidence**: {', '.join(shown)}"]


def render_markdown(card: dict[str, Any]) -> str:
    details = card["model_details"]
    out = [
        f"# Model card: {escape_text(details['name'])} v{escape_text(details['version'])}",
        "",
        (
            f"Stage: **{escape_text(card.get('stage'))}**. "
            f"Structure: {escape_text(card['structure'])}."
        ),
    ]
    for key, title in SECTIONS:
        out += ["", f"## {title}", ""]
        value = card.get(key)
        if key == "metrics":
            out += metrics_lines(card)
        elif key == "training_data":
            out += datasheet_lines(value)
        elif key == "quantitative_analyses":
            out += gates_lines(value)
        elif key == "caveats_and_recommendations":
            items = (value or {}).get("limitations") or ["None recorded in model.yaml."]
            out += [f"- {escape_text(item)}" for item in items]
        elif key == "approval" and value is None:
            out.append("Not promoted: no reviewed merge has approved this version.")
        elif key == "approval" and card.get("withdrawn"):
            out += [f"**Withdrawn**: {escape_text(card['withdrawn'])}", "", *_md_fields(value)]
        elif key == "model_details":
            out += [
                *_md_fields(value, skip=("search",)),
                *_search_lines((value or {}).get("search")),
            ]
        elif key == "trigger":
            out += [
                *_md_fields(value, skip=("evidence",)),
                *_evidence_lines((value or {}).get("evidence")),
            ]
        elif isinstance(value, dict):
            out += _md_fields(value)
        else:
            out.append(escape_text(value) if value is not None else "—")
    return "\n".join(out) + "\n"


# Cards stored by an older driftloop lack the keys added since (withdrawn, the search): they
# render as absent, not as an error.
_ENV = Environment(
    loader=PackageLoader("driftloop.card", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=ChainableUndefined,
)
_ENV.globals["num"] = number


def render_html(card: dict[str, Any]) -> str:
    """A standalone page: autoescaped, and a Content-Security-Policy that loads nothing."""
    return _ENV.get_template("card.html.j2").render(card=card, sections=SECTIONS)
