"""Why a dispatch must not happen now: the same episode already dispatched, an open pull
request, a retrain queued or running, the cooldown, the weekly cap."""

from __future__ import annotations

from datetime import datetime, timedelta

from driftloop.config import DriftSettings
from driftloop.policy.signals import History

__all__ = ["suppression"]


def suppression(
    model: str,
    now: datetime,
    episode: str,
    history: History,
    settings: DriftSettings,
    enforce_limits: bool = True,
    since: datetime | None = None,
) -> str | None:
    """Why a dispatch must not happen now, or None. Deduplication always applies; cooldown
    and the weekly cap unless ``enforce_limits`` is False (a forced manual trigger).

    ``since`` is when the current critical run began; a run that began before the history
    the check reads is open-ended, and counts as the episode of any dispatch in the last
    seven days: a lasting shift nobody acted on is re-dispatched at most once a week."""
    # Scheduled retrains are counted apart: they spend no cooldown, no weekly cap, and do not
    # close a drift episode (an open PR or a running retrain still blocks either kind).
    limited = [d.at for d in history.dispatches if d.at <= now and not d.scheduled]
    last = max(limited) if limited else None
    week = [at for at in limited if now - at < timedelta(days=7)]
    cap = settings.max_triggers_per_week
    same_episode = any(d.trigger_id == episode for d in history.dispatches) or (
        since is not None and any(at >= since for at in limited)
    )
    reasons = [
        (same_episode, f"already dispatched for this drift episode ({episode})"),
        (
            history.open_pull_request is not None,
            f"a driftloop pull request for {model} is open ({history.open_pull_request})",
        ),
        (
            history.active_run is not None,
            f"a retrain for {model} is queued or running ({history.active_run})",
        ),
        (
            enforce_limits and last is not None and now - last < settings.cooldown,
            (
                f"cooldown: last dispatch {last.isoformat() if last else ''}, next allowed "
                f"after {(last + settings.cooldown).isoformat() if last else ''}"
            ),
        ),
        (
            enforce_limits and len(week) >= cap,
            f"weekly cap: {len(week)} dispatch(es) in 7 days (max {cap})",
        ),
    ]
    return next((reason for applies, reason in reasons if applies), None)
