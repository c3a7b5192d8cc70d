"""One fleet, two executors: each model's retrain goes where its ``retrain.executor`` says
(GitHub's workflow_dispatch or the Argo Server), and its history is read from both, so a
model moved from one to the other keeps its cooldown and weekly cap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from driftloop.adapters.repohost import RepoHost
from driftloop.policy.signals import History

__all__ = ["RoutedHost"]


class RoutedHost:
    def __init__(self, github: RepoHost, argo: RepoHost, executors: Mapping[str, str]) -> None:
        self.github, self.argo, self.executors = github, argo, executors

    def _host(self, model: str) -> RepoHost:
        return self.argo if self.executors.get(model) == "argo" else self.github

    def retrain_history(self, model: str, now: datetime) -> History:
        return self.retrain_histories([model], now)[model]

    def retrain_histories(
        self, models: Sequence[str], now: datetime, since: datetime | None = None
    ) -> dict[str, History]:
        """GitHub's (runs and open pull requests, the proposals of both paths) and, for the
        models on Argo, the Argo Server's: a fixed number of requests to each."""
        found = self.github.retrain_histories(models, now, since)
        on_argo = [m for m in models if self.executors.get(m) == "argo"]
        if not on_argo:
            return found
        cluster = self.argo.retrain_histories(on_argo, now, since)
        for model in on_argo:
            github, argo = found[model], cluster[model]
            found[model] = History(
                tuple(sorted(github.dispatches + argo.dispatches, key=lambda d: d.at)),
                github.open_pull_request,
                argo.active_run or github.active_run,
                {**github.extra, **argo.extra},
            )
        return found

    def dispatch_retrain(
        self, model: str, reason: str, trigger_id: str, evidence: str, now: datetime, manual: bool
    ) -> str:
        return self._host(model).dispatch_retrain(model, reason, trigger_id, evidence, now, manual)
