"""The loop's stages, one module each, in the order a drift travels through them:

check -> retrain -> gate -> propose -> (human review and merge) -> promote -> reconcile

Each stage wires the pure rules (``policy``, ``gates``, ``drift``, ``gitops``) to the outside
world through the interfaces in ``adapters``; the CLI calls them. Nothing is imported here, so
that running one stage loads only what it needs.
"""
