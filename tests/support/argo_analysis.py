"""Argo Rollouts' judgement of an AnalysisRun, reimplemented for tests on its documented rules
and its source (argoproj/argo-rollouts, read at commit c9dd7ea0):

- one measurement, ``utils/evaluate/evaluate.go::EvaluateResult``: both conditions are
  evaluated (an error in either is an Error measurement); a missing failure condition means
  "not success", a missing success condition "not failure"; then the **failure condition is
  checked first**: Failed, else Successful if the success condition holds, else Inconclusive.
  The Prometheus provider passes an instant vector as a list of floats (an empty result is
  ``[]``, so ``result[0]`` on it is an error) and a query error as an Error measurement
  (``metricproviders/prometheus/prometheus.go``).
- counting, ``analysis/analysis.go::runMeasurements``: Successful, Failed and Inconclusive
  measurements add to ``count`` and reset the consecutive errors; an Error does not count.
- one metric, ``assessMetricStatus`` / ``assessMetricFailureInconclusiveOrError``: after each
  measurement, Failed when failed > failureLimit (default 0), then Inconclusive when
  inconclusive > inconclusiveLimit (default 0), then Error when consecutive errors >
  consecutiveErrorLimit (default 4), each later check overriding an earlier one; otherwise
  Successful once ``count`` measurements are taken; a metric without ``count`` runs until the
  run is terminated (the rollout moved on), which makes it Successful.
- the run: the worst metric, in the order Successful < Running < Pending < Inconclusive <
  Error < Failed (``utils/analysis``). A Failed or Error run aborts the rollout; an
  Inconclusive one pauses it for a human (docs: features/analysis, "Inconclusive Runs").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.argo_expr import evaluate

ORDER = ("Successful", "Running", "Pending", "Inconclusive", "Error", "Failed")
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
Result = list[float] | None  # None: the query itself failed


def measure(metric: dict[str, Any], result: Result) -> str:
    """One measurement's phase."""
    if result is None:
        return "Error"
    success_text, failure_text = metric.get("successCondition"), metric.get("failureCondition")
    try:
        success = evaluate(success_text, result) if success_text else False
        failure = evaluate(failure_text, result) if failure_text else False
    except (IndexError, TypeError, ValueError):
        return "Error"  # e.g. result[0] of an empty vector
    if not success_text and not failure_text:
        return "Successful"
    if success_text and not failure_text:
        failure = not success
    if failure_text and not success_text:
        success = not failure
    if failure:
        return "Failed"
    return "Successful" if success else "Inconclusive"


@dataclass
class MetricRun:
    metric: dict[str, Any]
    phases: list[str] = field(default_factory=list)
    count = successful = failed = inconclusive = errors = consecutive_errors = 0

    def add(self, phase: str) -> None:
        self.phases.append(phase)
        if phase == "Error":
            self.errors += 1
            self.consecutive_errors += 1
            return
        self.count += 1
        self.consecutive_errors = 0
        self.successful += phase == "Successful"
        self.failed += phase == "Failed"
        self.inconclusive += phase == "Inconclusive"

    def status(self, terminating: bool = False) -> str:
        if not self.phases:
            return "Successful" if terminating else "Pending"
        phase = ""
        if self.failed > self.metric.get("failureLimit", 0):
            phase = "Failed"
        if self.inconclusive > self.metric.get("inconclusiveLimit", 0):
            phase = "Inconclusive"
        limit = self.metric.get("consecutiveErrorLimit", DEFAULT_CONSECUTIVE_ERROR_LIMIT)
        if self.consecutive_errors > limit:
            phase = "Error"
        if phase:
            return phase
        count = self.metric.get("count")
        if count is not None and self.count >= count:
            return "Successful"
        return "Successful" if terminating else "Running"


def run_metric(
    metric: dict[str, Any], results: Sequence[Result] | Callable[[int], Result],
    limit: int = 30,
) -> MetricRun:  # fmt: skip
    """Measure until the metric completes or the results (the k-th measurement's query
    answer) run out; then the caller may ask ``status(terminating=True)``."""
    run = MetricRun(metric)
    take = results if callable(results) else results.__getitem__
    total = limit if callable(results) else len(results)
    for k in range(total):
        run.add(measure(metric, take(k)))
        if run.status() not in ("Running", "Pending"):
            break
    return run


def worst(phases: Sequence[str]) -> str:
    return max(phases, key=ORDER.index)
