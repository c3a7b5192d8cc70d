"""Pull request and issue bodies rendered from jinja2 templates (gitops/templates/)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["render_issue", "render_pull_request"]

_ENV = Environment(
    loader=PackageLoader("driftloop.gitops", "templates"),
    autoescape=select_autoescape(default=False),
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=True,
)


def _num(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_ENV.globals["num"] = _num


def _features(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in evidence.get("top_features", []) if isinstance(f, dict) and "psi" in f]


def render_pull_request(context: dict[str, Any]) -> str:
    features = _features(context.get("evidence", {}))
    chart_max = max([0.3, *(float(f["psi"]) * 1.2 for f in features)])
    return _ENV.get_template("pull_request.md.j2").render(
        **context, features=features, chart_max=chart_max
    )


def render_issue(context: dict[str, Any]) -> str:
    return _ENV.get_template("gate_failed.md.j2").render(
        **context, features=_features(context.get("evidence", {}))
    )
