"""Synthetic scenarios and (later) the one-command local loop."""
