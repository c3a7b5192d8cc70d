"""Model cards (Mitchell et al.) and Annex IV documentation built from a version's facts."""

from driftloop.card.annex import render_annex_iv
from driftloop.card.build import new_card, with_approval, with_gate, with_withdrawal
from driftloop.card.render import render_html, render_markdown

__all__ = [
    "new_card",
    "render_annex_iv",
    "render_html",
    "render_markdown",
    "with_approval",
    "with_gate",
    "with_withdrawal",
]
