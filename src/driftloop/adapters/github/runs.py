"""The retrain workflow's runs: dispatching it once per trigger, and reading the history the
check's policy needs (dispatches, the run queued or in progress, open pull requests)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from driftloop.adapters.github.client import GitHubClient, upstream
from driftloop.adapters.github.pulls import Proposals
from driftloop.policy.signals import Dispatch, History

__all__ = ["WORKFLOW", "RetrainRuns"]

WORKFLOW = "retrain.yml"
# Runs read per check at most: a month of a large fleet's retrains, in 10 requests.
MAX_RUNS = 1000
_TITLE = re.compile(r"^retrain (?P<model>\S+) \((?P<trigger>[^)]*)\)$")


class RetrainRuns(Proposals, GitHubClient):
    def _runs(self, status: str | None = None, since: datetime | None = None) -> list[Any]:
        """The workflow's runs, newest first: the latest 100, or with ``since`` every run
        created since then (up to ``MAX_RUNS``, 100 a page)."""
        with upstream(f"listing {WORKFLOW} runs"):
            workflow = self.repo.get_workflow(WORKFLOW)
            filters: dict[str, Any] = {"status": status} if status else {}
            if since is not None:  # search syntax, by day (rest-api-description#2542)
                filters["created"] = f">={since.astimezone(UTC).date().isoformat()}"
            runs = workflow.get_runs(**filters)
            return list(itertools.islice(runs, MAX_RUNS if since is not None else 100))

    def retrain_history(self, model: str, now: datetime) -> History:
        return self.retrain_histories([model], now)[model]

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        """The workflow's runs (since ``since``: as far back as the policy looks, a monthly
        schedule's period included) and the open pull requests, in a fixed number of
        requests for the whole fleet (GitHub's rate limit is per token, not per model)."""
        dispatches: dict[str, list[Dispatch]] = {model: [] for model in models}
        active: dict[str, str] = {}
        for run in self._runs(since=since):
            match = _TITLE.match(run.display_title or "")
            if match is None or match.group("model") not in dispatches or run.created_at > now:
                continue
            model, trigger = match.group("model"), match.group("trigger")
            dispatches[model].append(Dispatch(run.created_at, trigger, "manual" in trigger))
            if run.status in ("queued", "in_progress", "waiting", "requested", "pending"):
                active.setdefault(model, f"{trigger} ({run.status})")
        pulls = self.open_pulls()
        return {
            model: History(
                tuple(dispatches[model]),
                f"#{pulls[model].number}" if model in pulls else None,
                active.get(model),
            )
            for model in models
        }

    def _run_url(self, title: str) -> str | None:
        return next((str(r.html_url) for r in self._runs() if r.display_title == title), None)

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        title = f"retrain {model} ({trigger_id})"
        listed = self._run_url(title)
        if listed:  # a retried CronJob: it is dispatched already
            return listed
        inputs = {
            "model": model,
            "reason": reason[:1000],
            "trigger_id": trigger_id,
            "evidence": evidence,
        }
        done = f"{WORKFLOW} dispatched on {self.repository}@{self.default_branch} ({title})"
        with upstream(f"reading {WORKFLOW}"):
            workflow = self.once_repo.get_workflow(WORKFLOW)

        def create() -> str:
            workflow.create_dispatch(self.default_branch, inputs, throw=True)
            return done

        return self._write_once(
            f"dispatching {WORKFLOW} on {self.default_branch}", create, lambda: self._run_url(title)
        )
