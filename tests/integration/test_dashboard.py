"""The Grafana dashboard's queries return data: every panel's PromQL runs against a real
Prometheus scraping the real model server (with the shipped recording rules) and the
Pushgateway the check pushes to, after reference traffic and one check. A panel whose query
has a typo (a metric or label nobody records) finds nothing and fails here. The multiclass
panels are asked about tickets, served beside churn; the others about churn."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from tests.support.bundles import train_bundle
from tests.support.processes import free_port, model_server, prometheus, running

from driftloop.cli.check import push
from driftloop.generate.rules import RuleSettings, build_groups
from driftloop.loop.check import CheckRun
from driftloop.policy import Decision
from driftloop.synthetic import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FEATURES = ["tenure_months", "monthly_charges", "contract", "payment_method", "support_calls",
            "senior_citizen"]  # fmt: skip


def panels() -> list[tuple[str, str]]:
    """(panel title, expr) of every target of every dashboard in the ConfigMap."""
    config = yaml.safe_load((ROOT / "k8s/base/grafana-dashboard.yaml").read_text())
    found = []
    for text in config["data"].values():
        for panel in json.loads(text)["panels"]:
            found += [(panel["title"], target["expr"]) for target in panel.get("targets", [])]
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("dashboard")
    bundle = train_bundle("churn", work / "churn")
    tickets = train_bundle("tickets", work / "tickets", rows=3000)
    binary = shutil.which("prometheus-pushgateway")
    assert binary is not None, "scripts/setup.sh installs prometheus-pushgateway"
    settings = replace(RuleSettings(), intervals=(("5m", "1s"), ("1h", "1s"), ("24h", "1s")))
    port = free_port()
    gateway_command = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    with (
        model_server(bundle, work / "server.log") as server,
        model_server(tickets, work / "tickets.log") as multiclass,
        running(
            gateway_command,
            f"http://127.0.0.1:{port}/-/ready",
            "pushgateway",
            work / "pushgateway.log",
        ) as gateway,  # fmt: skip
        prometheus(
            work / "prometheus", [server, multiclass, gateway], build_groups(settings)
        ) as prom,
    ):
        decision = Decision("churn", "ok", ["no feature above its warn threshold"])
        push(gateway, CheckRun([decision]), datetime.now(UTC))
        # counters scraped at zero first, or their first increase() would be nothing
        eventually(prom, 'driftloop_feedback_confusion_total{model="$model"}', 30, "tickets")
        feed_tickets(multiclass)
        feed_until_every_panel_answers(server, prom)
        yield prom


def feed_tickets(server: str) -> None:
    """Labelled tickets, spread over a few seconds so that 1h increases see them move."""
    frame = scenarios.reference("tickets", rows=1500, seed=5)
    with httpx.Client(timeout=10.0) as client:
        for start in range(0, len(frame), 300):
            part = frame.iloc[start : start + 300]
            batch = part[["message", "channel", "plan"]].to_dict(orient="records")
            answer = client.post(f"{server}/invocations", json={"dataframe_records": batch})
            records = [
                {"prediction": p, "label": y}
                for p, y in zip(answer.json()["predictions"], part["sentiment"], strict=True)
            ]
            client.post(f"{server}/feedback", json={"records": records}).raise_for_status()
            time.sleep(1.0)


def model_of(title: str) -> str:
    return "tickets" if title.startswith("Multiclass") else "churn"


def feed_until_every_panel_answers(server: str, prom: str, timeout: float = 180.0) -> None:
    """Reference traffic, a batch at a time, while Prometheus scrapes: rates and increases
    need the counters to move between two scrapes. Stops as soon as every panel answers (or
    at ``timeout``; the tests then name the panels that never did)."""
    frame = scenarios.reference("churn", rows=20_000, seed=5)
    rows, labels = frame[FEATURES], frame["churned"].tolist()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10.0) as client:
        for start in range(0, len(rows), 100):
            batch = rows.iloc[start : start + 100].to_dict(orient="records")
            url = f"{server}/invocations?scores=true"
            answer = client.post(url, json={"dataframe_records": batch}).json()
            feedback = [  # labels arrive at once: the quality panels have data too
                {"prediction": p, "label": y, "score": s}
                for p, y, s in zip(answer["predictions"], labels[start : start + 100],
                                   answer["scores"], strict=True)
            ]  # fmt: skip
            client.post(f"{server}/feedback", json={"records": feedback})
            answered = all(results(prom, expr, model_of(title)) for title, expr in panels())
            if answered or time.monotonic() > deadline:
                return
            time.sleep(0.25)  # spread the traffic over scrapes (every second)


def results(prom: str, expr: str, model: str = "churn") -> list[dict]:  # type: ignore[type-arg]
    query = expr.replace("$model", model)  # the dashboard's model variable, one model chosen
    body = httpx.post(f"{prom}/api/v1/query", data={"query": query}, timeout=5.0).json()
    assert body["status"] == "success", (query, body)
    return body["data"]["result"]  # type: ignore[no-any-return]


def eventually(prom: str, expr: str, timeout: float = 10.0, model: str = "churn") -> list[dict]:  # type: ignore[type-arg]
    """The panel's answer once the scrapes and rule evaluations it needs have happened (the
    rules run every second; a 5m rate needs two scrapes): at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = results(prom, expr, model)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.parametrize(("title", "expr"), panels())
def test_every_panel_returns_data(stack: str, title: str, expr: str) -> None:
    model = model_of(title)
    found = eventually(stack, expr, model=model)
    assert found, f"panel {title!r} shows no data for {model}: {expr}"
    assert all(series["metric"].get("model") == model for series in found)


def test_a_panel_with_a_typo_finds_nothing(stack: str) -> None:
    _, expr = panels()[0]
    eventually(stack, expr)  # the real one has data by now
    assert results(stack, expr.replace("feature_psi", "feature_pis")) == []
