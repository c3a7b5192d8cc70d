"""`driftloop demo`: the whole loop on this machine, with embedded defaults.

MLflow on SQLite, a git repository in the work folder as the repo host, the three demo
models served side by side (the chosen one, churn by default, whose traffic the scenario
shifts, and the others, whose traffic stays as it was), one Prometheus with the project's own
rules and one check loop over all of them. Time is
compressed by the demo's drift policy (a 15 s PSI window, a 30 s sustain period) and says
so. Every process it starts is stopped when it ends, fails or is interrupted.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.prometheus import PrometheusSource
from driftloop.config import load_drift_policy, load_model
from driftloop.demo.pipeline import post_onset, retrain_pipeline
from driftloop.demo.processes import model_server, prometheus
from driftloop.demo.traffic import Replay
from driftloop.demo.workspace import DEMO_POLICY, DEMO_REVIEWER, approve_demo, prepare, project_root
from driftloop.errors import UsageError
from driftloop.generate.rules import build_groups, settings_from_policy
from driftloop.loop.check import run_check
from driftloop.loop.promote import changed_models, promote
from driftloop.policy import Decision
from driftloop.synthetic import scenarios

__all__ = ["DEMO_POLICY", "DemoResult", "approve_demo", "run_demo"]

SCENARIOS = ("persistent", "transient", "degraded", "concept", "none")
CHECK_EVERY = timedelta(seconds=2)
PUSH_SECONDS = 12  # the transient push: shorter than 80% of the 30s sustain period
Report = Callable[[str], None]


# the signals whose warnings join another decision's reasons as "<signal>: ..."
NOTES = frozenset({
    "feature_drift", "prediction_drift", "prediction_share", "out_of_range",
    "realised_performance", "estimated_performance", "detection", "schedule",
})  # fmt: skip
MODELS = ("churn", "taxi", "tickets")  # served side by side; only the chosen one drifts
# What each model's lasting shift and concept change look like (driftloop.synthetic)
SHIFTS = {
    "churn": ("monthly_charges up ~18% from now on", "who churns changes"),
    "taxi": ("longer trips, more from the airport", "central trips get slower"),
    "tickets": (
        "a new phone launches: new words, more negative tickets",
        "'crazy' and 'insane' come to mean delight",
    ),
}


@dataclass
class DemoResult:
    scenario: str
    outcome: str
    workdir: Path
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the drifting model's
    where: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # last decision, serving

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "outcome": self.outcome,
            "workdir": str(self.workdir),
            "last_decision": self.decisions[-1] if self.decisions else None,
            "models": self.models,
            "where": self.where,
        }


def _features(model: str, workdir: Path) -> list[str]:
    return load_model(model, workdir / "models").feature_names


class Demo:
    def __init__(
        self, scenario: str, workdir: Path, model: str, approve: bool | None, report: Report
    ) -> None:
        if scenario not in SCENARIOS:
            raise UsageError(
                f"unknown demo scenario {scenario!r}; choose from {', '.join(SCENARIOS)}"
            )
        if model not in MODELS:
            raise UsageError(f"unknown demo model {model!r}; choose from {', '.join(MODELS)}")
        self.scenario, self.workdir, self.model = scenario, workdir.resolve(), model
        self.models = [model, *(m for m in MODELS if m != model)]
        self.approve, self.say = approve, report
        self.result = DemoResult(scenario, "running", self.workdir)
        self.uri = f"sqlite:///{self.workdir / 'mlflow.db'}"
        self.env = {**os.environ, "MLFLOW_TRACKING_URI": self.uri, "PYTHONWARNINGS": "ignore"}
        self.host = LocalRepoHost(self.workdir, runner=self.retrain_pipeline)
        self.replays: list[Replay] = []
        self.servers: dict[str, str] = {}
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # its INFO lines drown the steps

    @property
    def registry(self) -> MlflowRegistry:
        return MlflowRegistry(self.uri, artifact_root=self.workdir / "mlartifacts")

    # -- the dispatched workflow, run locally exactly as retrain.yml runs it ----------------
    def retrain_pipeline(self, record: dict[str, Any]) -> None:
        # On GitHub the retrain runs on its own runner; here it shares two cores with the
        # servers and the traffic, so the traffic pauses (the latency gate measures timings).
        for replay in self.replays:
            replay.pause()
        try:
            self._retrain_pipeline(record)
        finally:
            for replay in self.replays:
                replay.resume()

    def _retrain_pipeline(self, record: dict[str, Any]) -> None:
        self.result.where.update(
            retrain_pipeline(
                record, self.scenario, self.workdir, self.registry, self.host, self.say
            )
        )

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        say = self.say
        say(f"driftloop demo: scenario {self.scenario!r} in {self.workdir}")
        prepare(self.workdir, project_root())
        say(
            f"1/7 train and register the champions (v1, alias champion) of "
            f"{', '.join(self.models)} on their reference data"
        )
        from driftloop.loop.retrain import retrain

        for model in self.models:
            retrain(
                model,
                self.workdir / "models",
                self.registry,
                f"demo://{model}/reference",
                "initial model",
                "",
            )
            self.registry.set_alias(model, "champion", "1")
        policy = load_drift_policy(self.workdir / "policies/drift.yaml")
        settings = replace(
            settings_from_policy(policy),
            drift_for="10s",
            intervals=tuple((w, "1s") for w, _ in settings_from_policy(policy).intervals),
        )
        say(
            "2/7 serve them side by side (driftloop serve models:/<model>@champion) and start "
            "one Prometheus with the project's rules"
        )
        say(
            "    (time is compressed: PSI over 15s instead of 1h; a trigger needs drift for "
            "80% of 30s instead of 6h)"
        )
        with ExitStack() as stack:
            for model in self.models:
                self.servers[model] = stack.enter_context(
                    model_server(
                        f"models:/{model}@champion", self.workdir, self.env, "--enable-reload",
                        log=self.workdir / f"logs/server-{model}.log",
                    )
                )  # fmt: skip
            prom = stack.enter_context(
                prometheus(
                    self.workdir / "prometheus",
                    list(self.servers.values()),
                    build_groups(settings),
                    self.env,
                    log=self.workdir / "logs/prometheus.log",
                )
            )
            self.result.where.update({"prometheus": prom, "model_server": self.servers[self.model]})
            self.result.where.update({f"model_server_{m}": url for m, url in self.servers.items()})
            self._wait_first_scrape(prom)
            reference = scenarios.reference(self.model, rows=20_000, seed=42)
            labels = load_model(self.model, self.workdir / "models").target
            replay = stack.enter_context(
                Replay(
                    self.servers[self.model], _features(self.model, self.workdir), reference,
                    labels=labels if self.scenario == "concept" else None,
                )
            )  # fmt: skip
            self.replays = [replay]
            for model in self.models[1:]:  # steady traffic, all along
                steady = scenarios.reference(model, rows=20_000, seed=43)
                self.replays.append(
                    stack.enter_context(
                        Replay(self.servers[model], _features(model, self.workdir), steady, rate=5)
                    )
                )
            say("3/7 replay reference traffic to each (15s)")
            time.sleep(15)
            self._scenario_traffic(replay, reference, policy, prom)
            for extra in self.replays:
                extra.pause()
            self._finish()
        return self.result

    def _wait_first_scrape(self, prom: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = httpx.get(
                f"{prom}/api/v1/query", params={"query": "driftloop_feature_bin_total"}
            ).json()
            if body.get("data", {}).get("result"):
                return
            time.sleep(0.5)

    def _check(self, policy: Any, prom: str) -> Decision:
        with PrometheusSource(prom) as source:
            now = datetime.now(UTC).replace(microsecond=0)
            run = run_check(self.models, source, self.host, policy, now, CHECK_EVERY)
        for decision in run.decisions:
            self.result.models.setdefault(decision.model, {})["decision"] = decision.decision
        decision = next(d for d in run.decisions if d.model == self.model)
        self.result.decisions.append(decision.to_dict())
        return decision

    def _scenario_traffic(
        self, replay: Replay, reference: pd.DataFrame, policy: Any, prom: str
    ) -> None:
        say = self.say
        shifted = post_onset(self.model, "persistent")
        lasting, concept = SHIFTS[self.model]
        if self.scenario == "none":
            say("4/7 keep sending reference-like traffic")
        elif self.scenario == "concept":
            say(f"4/7 concept drift: the same inputs, but {concept} (labels follow at once "
                "on /feedback)")  # fmt: skip
            replay.switch(post_onset(self.model, "concept"))
        elif self.scenario == "transient":
            say(f"4/7 a transient shift for {PUSH_SECONDS}s ({lasting.split(' from')[0]}), then "
                "back to normal")  # fmt: skip
            replay.switch(shifted)
        else:
            say(f"4/7 a lasting shift: {lasting}")
            replay.switch(shifted)
        say(
            f"5/7 driftloop check every 2s over {', '.join(self.models)} "
            "(Prometheus -> policy -> local dispatch)"
        )
        started = time.monotonic()
        last = None
        while time.monotonic() - started < (45 if self.scenario in ("transient", "none") else 120):
            if self.scenario == "transient" and time.monotonic() - started > PUSH_SECONDS:
                replay.switch(reference)
            time.sleep(CHECK_EVERY.total_seconds())
            decision = self._check(policy, prom)
            if decision.decision != last or decision.decision == "trigger":
                top = (
                    decision.evidence.get("top_features", [{}])[0]
                    if decision.evidence.get("top_features")
                    else {}
                )
                psi = f" (top: {top.get('feature')} PSI {top.get('psi')})" if top else ""
                # its own last reason, not another signal's note ("out_of_range: ...")
                own = [r for r in decision.reasons if r.split(":")[0] not in NOTES]
                reason = (own or decision.reasons)[-1]
                if decision.signal != "feature_drift":
                    psi, reason = f" ({decision.signal})", decision.reasons[0]
                say(f"    check {self.model}: {decision.decision}{psi}: {reason}")
                last = decision.decision
            if decision.decision in ("trigger", "suppressed") and self.host.dispatches(self.model):
                return
        if self.scenario == "transient":
            self.result.outcome = "no trigger: the shift did not last the sustain period"
        elif self.scenario == "none":
            self.result.outcome = "no trigger: ok"
        else:
            self.result.outcome = "no trigger within the time limit"

    def _finish(self) -> None:
        say = self.say
        for model in self.models[1:]:
            say(f"    check {model}: {self.result.models.get(model, {}).get('decision')} "
                "(its traffic never changed)")  # fmt: skip
        self._serving()
        if not self.host.dispatches(self.model):
            say(f"6/7 nothing to propose: {self.result.outcome}")
            return
        pull = self.host.find_open_pull(self.model)
        if pull is None:
            issue = self.host.find_open_issue(self.model)
            self.result.outcome = "gates failed: an issue was opened, nothing proposed"
            if issue:
                self.result.where["issue"] = issue.url
            say(f"6/7 {self.result.outcome} ({issue.url if issue else '?'})")
            return
        self.result.where["pull_request"] = pull.url
        say(f"6/7 pull request #{pull.number} on branch {pull.branch}: {pull.url}")
        if self.approve is False:
            self.result.outcome = (
                "pull request open: approve with `driftloop demo approve --workdir ...`"
            )
            return
        if self.approve:
            self.host.approve(pull.number, DEMO_REVIEWER)
            self.host.merge(pull.number, DEMO_REVIEWER)
            say(f"    approved and merged as {DEMO_REVIEWER} (--approve)")
        else:
            say(f"    waiting for your review: driftloop demo approve --workdir {self.workdir}")
            while not self.host.pull_record(pull.number).get("merged"):
                time.sleep(1)
        merge = self.host.resolve(self.host.default_branch)
        changed = changed_models(self.host, merge)
        say(f"7/7 promote: the merge changes the pin of {', '.join(changed) or 'no model'}")
        promoted = []
        for model in changed:
            result = promote(model, self.host, self.registry, commit=merge)
            say(f"    {model}: {'; '.join(result.reasons)}")
            if result.promoted:
                promoted.append(model)
        if self.model not in promoted:
            self.result.outcome = "merged, but promote refused it (see above)"
            return
        server = self.servers[self.model]
        reloaded = httpx.post(f"{server}/-/reload", timeout=60).json()
        metrics = httpx.get(f"{server}/metrics", timeout=10).text
        version = reloaded.get("version")
        shown = f'version="{version}"' in metrics
        say(
            f"    the {self.model} server reloaded v{version}; "
            f"its telemetry is labelled version={version}: {shown}"
        )
        self._serving()
        for model in self.models[1:]:
            say(f"    {model} still serves v{self.result.models[model]['serving']}: untouched")
        self.result.outcome = (
            f"v{version} promoted and serving"
            if shown
            else "promoted, but the server did not reload"
        )

    def _serving(self) -> None:
        for model, server in self.servers.items():
            ready = httpx.get(f"{server}/readyz", timeout=10).json()
            self.result.models.setdefault(model, {})["serving"] = ready.get("version")


def run_demo(
    scenario: str, workdir: Path, report: Report, approve: bool | None = None, model: str = "churn"
) -> DemoResult:
    return Demo(scenario, workdir, model, approve, report).run()
