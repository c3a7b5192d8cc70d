"""Pull request and issue bodies rendered from jinja2 templates (gitops/templates/).

Every value is escaped as it is rendered, whatever its source: a reason typed into the
workflow_dispatch form, a feature name from evidence or a gate report could otherwise
carry an HTML comment that impersonates driftloop's markers, a link, a table row, a
mention or a closing code fence. Text is HTML- and markdown-escaped, put on one line and
cut to a length; ``code`` makes a code span of plain identifiers (other text is escaped);
``label`` keeps a chart label to plain characters. Only the templates' own text is markup.
"""

from __future__ import annotations

import html
import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

__all__ = [
    "SIGNALS",
    "escape_text",
    "render_issue",
    "render_pull_request",
    "render_retrain_failed",
    "trigger_signal",
]

MAX_VALUE_CHARS = 300
# characters with a meaning inside a line of GitHub-flavoured markdown (CommonMark renders a
# backslash-escaped punctuation character as itself); values are never at a line's start,
# so the block markers (#, -, >, fences) cannot take effect once the text is on one line
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
_SPACE = re.compile(r"\s+")
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+=, -]*$")


def _cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_text(value: object) -> str:
    """Any value as inert markdown text on one line."""
    text = html.escape(_cut(str(value)), quote=False)
    text = _MARKDOWN.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")  # no @mentions of people or teams


def _finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    return escape_text(value)


def _code(value: object) -> Markup:
    """A code span for plain identifiers; anything else is escaped text (inside a code span
    nothing can be escaped, and tools that scan bodies as text would still see markers)."""
    text = _cut(str(value))
    if not _PLAIN.match(text):
        return Markup(escape_text(text))  # noqa: S704 - escaped
    return Markup(f"`{text}`")  # noqa: S704 - plain characters only


def _label(value: object) -> Markup:
    """A mermaid chart label: plain characters only, inside its quotes."""
    return Markup(re.sub(r"[^A-Za-z0-9_.:-]", "_", _cut(str(value), 60)))  # noqa: S704 - filtered


def _num(value: object) -> Markup:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Markup("—") if value is None else Markup(escape_text(value))  # noqa: S704 - escaped
    return Markup(f"{value:.4g}" if isinstance(value, float) else str(value))  # noqa: S704 - a number


def _fixed(value: object, digits: int = 3) -> Markup:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Markup(escape_text(value))  # noqa: S704 - escaped
    return Markup(f"{value:.{digits}f}")  # noqa: S704 - a number


_ENV = Environment(
    loader=PackageLoader("driftloop.gitops", "templates"),
    autoescape=False,  # noqa: S701 - markdown, not HTML: _finalize escapes every value
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=True,
)
_ENV.globals["num"] = _num
_ENV.filters["code"] = _code
_ENV.filters["label"] = _label
_ENV.filters["fixed"] = _fixed


def _features(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in evidence.get("top_features", [])
        if isinstance(f, dict) and isinstance(f.get("psi"), int | float)
    ]


# What each signal is called in a body; the check records which one fired as evidence.signal.
SIGNALS = {
    "feature_drift": "feature drift",
    "prediction_share": "a class-share shift",
    "realised_performance": "realised quality",
    "estimated_performance": "estimated quality",
    "schedule": "the model's retrain schedule",
}
# Signals that warn and never trigger
WARNING_ONLY = {"prediction_drift": "prediction drift", "out_of_range": "values out of range"}
# A dispatch's reason starts with the signal's label (driftloop.loop.check.LABELS).
_REASON_PREFIX = {
    "estimated performance:": "estimated_performance",
    "performance:": "realised_performance",
    "class shares:": "prediction_share",
    "schedule:": "schedule",
    "drift:": "feature_drift",
}


def trigger_signal(evidence: dict[str, Any], reason: str = "") -> str:
    """The signal that fired: as recorded, else from the reason's prefix or the evidence
    (dispatches made before the check recorded it)."""
    named = evidence.get("signal")
    if isinstance(named, str) and named in SIGNALS:
        return named
    for prefix, signal in _REASON_PREFIX.items():
        if reason.startswith(prefix):
            return signal
    if evidence.get("schedule"):
        return "schedule"
    if _features(evidence) or not _quality(evidence):
        return "feature_drift"
    return "realised_performance"


def _warnings(evidence: dict[str, Any], fired: str) -> list[str]:
    """The other signals that warned when this one fired, as the check listed them (or as
    the evidence's quality blocks show them, for older dispatches)."""
    named = evidence.get("warnings")
    if not isinstance(named, list):
        named = [
            s
            for s in ("realised_performance", "estimated_performance")
            if isinstance(evidence.get(s), dict)
            and evidence[s].get("level") in ("warn", "critical")
        ]
    words = {
        **SIGNALS,
        "prediction_drift": "prediction drift",
        "out_of_range": "values out of range",
    }
    return [words[s] for s in dict.fromkeys(named) if s in words and s != fired]


def _quality(
    evidence: dict[str, Any], first: str = "realised_performance"
) -> dict[str, Any] | None:
    """The quality breaches a dispatch carried (the firing signal's first), numbers only."""
    order = ["realised_performance", "estimated_performance"]
    order.sort(key=lambda s: s != first)
    for signal in order:
        block = evidence.get(signal)
        if not isinstance(block, dict) or not isinstance(block.get("breaches"), list):
            continue
        breaches = [
            b
            for b in block["breaches"]
            if isinstance(b, dict)
            and isinstance(b.get("value"), int | float)
            and isinstance(b.get("threshold"), int | float)
        ]
        if breaches:
            kind = "realised" if signal.startswith("realised") else "estimated"
            return {"kind": kind, "window": block.get("window"), "breaches": breaches}
    return None


def _share(evidence: dict[str, Any]) -> dict[str, Any] | None:
    """The class-share evidence a dispatch carried, numbers only."""
    block = evidence.get("prediction_share")
    numbers = ("shift", "warn", "critical")
    if not isinstance(block, dict) or not all(
        isinstance(block.get(k), int | float) for k in numbers
    ):
        return None
    rows, window = block.get("rows"), block.get("window")
    return {k: float(block[k]) for k in numbers} | {
        "rows": rows if isinstance(rows, int) else None,
        "window": window if isinstance(window, str) else None,
    }


def render_pull_request(context: dict[str, Any]) -> str:
    evidence = context.get("evidence", {})
    features = _features(evidence)
    chart_max = max([0.3, *(float(f["psi"]) * 1.2 for f in features)])
    fired = trigger_signal(evidence, str(context.get("reason", "")))
    return _ENV.get_template("pull_request.md.j2").render(
        **context, features=features, chart_max=chart_max, quality=_quality(evidence, fired),
        share=_share(evidence), fired=fired, signal_words=SIGNALS[fired],
        warnings=_warnings(evidence, fired),
    )  # fmt: skip


def render_issue(context: dict[str, Any]) -> str:
    evidence = context.get("evidence", {})
    fired = trigger_signal(evidence, str(context.get("reason", "")))
    return _ENV.get_template("gate_failed.md.j2").render(
        **context, features=_features(evidence), signal_words=SIGNALS[fired],
        warnings=_warnings(evidence, fired),
    )  # fmt: skip


def render_retrain_failed(context: dict[str, Any]) -> str:
    evidence = context.get("evidence") or {}
    fired = trigger_signal(evidence, str(context.get("reason", "")))
    return _ENV.get_template("retrain_failed.md.j2").render(**context, signal_words=SIGNALS[fired])
