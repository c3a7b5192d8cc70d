"""Alert routing (docs/alerting.md), with Debian's prometheus-alertmanager: both shipped
configurations pass `amtool check-config`, route every alert of the PrometheusRule to the
documented receiver (`amtool config routes test`), say the same thing, and a real
Alertmanager on 127.0.0.1 delivers firing alerts to local stand-ins for Slack and PagerDuty
with the inhibition applied."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.support.processes import free_port, running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PLAIN = ROOT / "alerting/alertmanager.yml"
OPERATOR = ROOT / "k8s/base/alertmanager-config.yaml"
SECRETS = "/etc/alertmanager/secrets"
ROUTING_KEY = "r0ut1ngk3y"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: scripts/setup.sh installs prometheus-alertmanager")
    return path


def documented() -> list[tuple[str, str, str]]:
    """(alert, severity, receiver) rows of docs/alerting.md."""
    text = (ROOT / "docs/alerting.md").read_text()
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| alert")
    ]
    return [(row[0], row[1], row[2]) for row in rows]


def rule_alerts() -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "k8s/base/prometheus-rule.yaml").read_text())["spec"]
    return {
        rule["alert"]: rule["labels"]["severity"]
        for group in spec["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def secrets(tmp: Path, slack_url: str = "https://hooks.slack.com/services/T0/B0/x") -> Path:
    directory = tmp / "secrets"
    directory.mkdir(exist_ok=True)
    (directory / "slack-webhook-url").write_text(slack_url + "\n")
    (directory / "pagerduty-routing-key").write_text(ROUTING_KEY + "\n")
    return directory


def plain(tmp: Path, **changes: Any) -> dict[str, Any]:
    """The shipped alertmanager.yml with its secret files under ``tmp``."""
    config = yaml.safe_load(PLAIN.read_text().replace(SECRETS, str(tmp / "secrets")))
    for key, value in changes.items():
        config["route"][key] = value
    return config  # type: ignore[no-any-return]


def matchers(items: list[dict[str, Any]]) -> list[str]:
    return [f'{m["name"]}{"=~" if m.get("regex") else "="}"{m["value"]}"' for m in items]


def from_operator(tmp: Path) -> dict[str, Any]:
    """The AlertmanagerConfig in alertmanager.yml terms, as the operator renders it (minus
    the namespace matcher it adds to every route and inhibition)."""
    spec = yaml.safe_load(OPERATOR.read_text())["spec"]
    keys = {"groupBy": "group_by", "groupWait": "group_wait", "groupInterval": "group_interval",
            "repeatInterval": "repeat_interval", "receiver": "receiver"}  # fmt: skip

    def route(node: dict[str, Any]) -> dict[str, Any]:
        out = {keys[k]: v for k, v in node.items() if k in keys}
        if "matchers" in node:
            out["matchers"] = matchers(node["matchers"])
        if "routes" in node:
            out["routes"] = [route(child) for child in node["routes"]]
        return out

    def secret_file(selector: dict[str, str]) -> str:
        return str(tmp / "secrets" / selector["key"])

    receivers = []
    for receiver in spec["receivers"]:
        entry: dict[str, Any] = {"name": receiver["name"]}
        for slack in receiver.get("slackConfigs", []):
            entry.setdefault("slack_configs", []).append({
                "api_url_file": secret_file(slack["apiURL"]), "channel": slack["channel"],
                "send_resolved": slack["sendResolved"], "title": slack["title"],
                "text": slack["text"],
            })  # fmt: skip
        for pager in receiver.get("pagerdutyConfigs", []):
            entry.setdefault("pagerduty_configs", []).append({
                "routing_key_file": secret_file(pager["routingKey"]),
                "send_resolved": pager["sendResolved"], "description": pager["description"],
            })  # fmt: skip
        receivers.append(entry)
    inhibit = [
        {"source_matchers": matchers(rule["sourceMatch"]),
         "target_matchers": matchers(rule["targetMatch"]), "equal": rule["equal"]}
        for rule in spec["inhibitRules"]
    ]  # fmt: skip
    return {"global": {"resolve_timeout": "5m"}, "route": route(spec["route"]),
            "inhibit_rules": inhibit, "receivers": receivers}  # fmt: skip


@pytest.fixture
def configs(tmp_path: Path) -> dict[str, Path]:
    secrets(tmp_path)
    paths = {}
    for name, config in (("plain", plain(tmp_path)), ("operator", from_operator(tmp_path))):
        paths[name] = tmp_path / f"{name}.yml"
        paths[name].write_text(yaml.safe_dump(config, sort_keys=False))
    return paths


def test_both_configurations_are_valid_and_the_same(
    configs: dict[str, Path], tmp_path: Path
) -> None:
    for path in configs.values():
        result = subprocess.run([tool("amtool"), "check-config", str(path)],
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    assert from_operator(tmp_path) == plain(tmp_path)


def test_the_table_covers_every_alert_with_its_severity() -> None:
    assert {alert: severity for alert, severity, _ in documented()} == rule_alerts()


@pytest.mark.parametrize(("alert", "severity", "receiver"), documented())
def test_each_alert_reaches_its_documented_receiver(
    configs: dict[str, Path], alert: str, severity: str, receiver: str
) -> None:
    labels = [f"alertname={alert}", f"severity={severity}", "model=churn", "version=2",
              "feature=monthly_charges", "namespace=driftloop"]  # fmt: skip
    for name, path in configs.items():
        result = subprocess.run(
            [tool("amtool"), "config", "routes", "test", f"--config.file={path}", *labels],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == receiver, (name, result.stdout)


class Stand_in(BaseHTTPRequestHandler):  # noqa: N801 - Slack and PagerDuty, as one recorder
    received: list[tuple[str, dict[str, Any]]]
    arrived: threading.Condition

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.arrived:
            self.received.append((self.path, body))
            self.arrived.notify_all()
        self.send_response(202 if self.path == "/pagerduty" else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[tuple[str, type[Stand_in]]]:
    handler = type("Recorder", (Stand_in,), {"received": [], "arrived": threading.Condition()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": severity, "model": "churn", "version": "2",
                   "namespace": "driftloop", **labels},
        "annotations": {"summary": f"{name} {labels.get('feature', '')}".strip(),
                        "description": f"{name} description",
                        "runbook_url": "https://example.invalid/runbook"},
        "startsAt": datetime.now(UTC).isoformat(),
    }  # fmt: skip


def test_a_real_alertmanager_delivers_and_inhibits(
    tmp_path: Path, stand_in: tuple[str, type[Stand_in]]
) -> None:
    url, recorder = stand_in
    secrets(tmp_path, slack_url=f"{url}/slack")
    config = plain(tmp_path, group_wait="1s", group_interval="1s")
    config["receivers"][1]["pagerduty_configs"][0]["url"] = f"{url}/pagerduty"
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [tool("prometheus-alertmanager"), f"--config.file={tmp_path / 'am.yml'}",
               f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--cluster.listen-address="]  # fmt: skip
    feature = {"feature": "monthly_charges"}
    with running(command, f"http://127.0.0.1:{port}/-/ready", "alertmanager",
                 tmp_path / "am.log") as am:  # fmt: skip
        posted = httpx.post(f"{am}/api/v2/alerts", json=[
            alert("FeatureDriftCritical", "warning", **feature),
            alert("FeatureDriftWarning", "info", **feature),
            alert("FeatureDriftWarning", "info", feature="tenure_months"),
            alert("ModelServerErrors", "critical"),
        ])  # fmt: skip
        assert posted.status_code == 200, posted.text
        deadline = time.monotonic() + 60
        with recorder.arrived:
            while {p for p, _ in recorder.received} != {"/slack", "/pagerduty"} or len(
                recorder.received
            ) < 3:
                left = deadline - time.monotonic()
                assert left > 0, recorder.received
                recorder.arrived.wait(left)
        states = httpx.get(f"{am}/api/v2/alerts").json()
    by_name: dict[tuple[str, str], dict[str, Any]] = {
        (a["labels"]["alertname"], a["labels"].get("feature", "")): a["status"] for a in states
    }
    muted = by_name[("FeatureDriftWarning", "monthly_charges")]
    assert muted["state"] == "suppressed"
    assert muted["inhibitedBy"], muted  # by the critical alert of the same model and feature
    assert by_name[("FeatureDriftWarning", "tenure_months")]["state"] == "active"

    slack = [json.dumps(body) for path, body in recorder.received if path == "/slack"]
    pager = [body for path, body in recorder.received if path == "/pagerduty"]
    assert len(slack) == 2, slack  # one message per (model, alertname) group
    critical = next(text for text in slack if "FeatureDriftCritical" in text)
    assert "(churn)" in critical
    assert "FeatureDriftCritical monthly_charges" in critical
    warning = next(text for text in slack if "FeatureDriftWarning" in text)
    assert "FeatureDriftWarning tenure_months" in warning
    assert "FeatureDriftWarning monthly_charges" not in warning  # muted by its critical
    assert not any("ModelServerErrors" in text for text in slack)  # the pager's, not chat's
    assert len(pager) == 1, pager
    assert pager[0]["routing_key"] == ROUTING_KEY
    assert pager[0]["event_action"] == "trigger"
    assert "ModelServerErrors (churn)" in pager[0]["payload"]["summary"]
