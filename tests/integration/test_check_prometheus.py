"""driftloop check and backtest against a real Prometheus holding backfilled drift history.

History: the series the recording rules would have written (PSI and rows per feature, 1h
window, every 5 minutes) for two days of each scenario, computed with the drift engine and
backfilled with `promtool tsdb create-blocks-from openmetrics`. Onset is at hour 12.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.support.history import backfill, recorded_series
from tests.support.processes import prometheus

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.adapters.prometheus import PrometheusSource
from driftloop.config import load_drift_policy
from driftloop.loop.check import lookback, run_check
from driftloop.policy.backtest import replay
from driftloop.synthetic import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

T0 = scenarios.STREAM_START
STEP = timedelta(minutes=5)
POLICY = """\
apiVersion: driftloop/v1
kind: DriftPolicy
defaults:
  window: 1h
  min_samples: 500
  sustain: 6h
  sustain_fraction: 0.8
  cooldown: 24h
  max_triggers_per_week: 2
  thresholds:
    psi: {warn: 0.1, critical: 0.25}
"""
SCENARIOS = ("persistent", "transient", "gradual", "low_traffic", "none")
FAST = ("persistent", "transient", "none")  # with a 5m window too (fast detection)
DETECTING = POLICY + "  detection: {window: 5m, alpha: 0.001, min_samples: 50, hold: 5m}\n"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("history")
    series = [s for name in SCENARIOS for s in recorded_series("churn", name, name, reference=True)]
    series += [s for name in FAST for s in recorded_series("churn", name, name, window_minutes=5)]
    backfill(series, work / "tsdb")
    (work / "drift.yaml").write_text(POLICY)
    churn = (ROOT / "models/churn/model.yaml").read_text()
    for name in SCENARIOS:  # each scenario's series carry model=<scenario>: a model of its own
        (work / "models" / name).mkdir(parents=True)
        (work / "models" / name / "model.yaml").write_text(
            churn.replace("name: churn", f"name: {name}")
        )
    with prometheus(work, [], [], tsdb=work / "tsdb") as url:
        yield url, work / "drift.yaml"


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", *args],
        capture_output=True, text=True, check=False, cwd=cwd, timeout=timeout,
    )  # fmt: skip


def hour(h: float) -> str:
    return (T0 + timedelta(hours=h)).isoformat()


def test_backtest_over_the_scenarios(history: tuple[str, Path]) -> None:
    url, policy = history
    models = [arg for name in SCENARIOS for arg in ("--model", name)]
    result = cli("backtest", "--prometheus", url, "--policy", str(policy), "--models", str(policy.parent / "models"), "--start", hour(1),
                 "--end", hour(48), "--json", *models)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["models"]
    persistent = report["persistent"]
    assert persistent["trigger_count"] == 1
    fired = datetime.fromisoformat(persistent["triggers"][0]["at"])
    onset = T0 + timedelta(hours=scenarios.ONSET_HOURS)
    # detection latency: at most the sustain period + one CronJob interval (+ the 1h window)
    assert timedelta(hours=4.8) <= fired - onset <= timedelta(hours=6, minutes=5)
    assert persistent["triggers"][0]["top_features"][0]["feature"] == "monthly_charges"
    assert report["transient"]["trigger_count"] == 0
    assert report["transient"]["decisions"]["warn"] > 0
    assert report["gradual"]["trigger_count"] == 1
    assert report["low_traffic"]["trigger_count"] == 0
    assert set(report["low_traffic"]["decisions"]) == {"insufficient_data"}
    assert report["none"]["trigger_count"] == 0
    table = cli("backtest", "--prometheus", url, "--policy", str(policy), "--models", str(policy.parent / "models"), "--start", hour(1),
                "--end", hour(48), "--model", "persistent")  # fmt: skip
    assert "persistent" in table.stdout
    assert "trigger at" in table.stdout


def test_live_check_dispatches_once(history: tuple[str, Path], tmp_path: Path) -> None:
    url, policy = history
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    args = ["check", "--prometheus", url, "--policy", str(policy), "--json", "--dispatch", "local",
            "--repo", str(tmp_path), "--at", hour(20), "--models", str(policy.parent / "models")]  # fmt: skip
    first = cli(*args, "--model", "persistent", "--model", "transient", "--model", "low_traffic")
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    by_model = {line["model"]: line for line in lines}
    assert set(by_model) == {"persistent", "transient", "low_traffic"}
    assert by_model["persistent"]["decision"] == "trigger"
    assert by_model["persistent"]["evidence"]["top_features"][0]["feature"] == "monthly_charges"
    assert by_model["persistent"]["evidence"]["since"] is not None
    assert "dispatched" in by_model["persistent"]
    assert by_model["transient"]["decision"] == "warn"
    assert any("a trigger needs 80% of 6h" in r for r in by_model["transient"]["reasons"])
    assert by_model["low_traffic"]["decision"] == "insufficient_data"
    for line in lines:
        assert set(line) >= {"model", "decision", "reasons", "evidence"}

    again = cli(*args, "--model", "persistent")
    decision = json.loads(again.stdout)
    assert decision["decision"] == "suppressed"
    assert len(LocalRepoHost(tmp_path).dispatches("persistent")) == 1
    record = LocalRepoHost(tmp_path).dispatches("persistent")[0]
    assert record["trigger_id"] == by_model["persistent"]["trigger_id"]
    assert json.loads(record["evidence"])["top_features"][0]["feature"] == "monthly_charges"


def test_backtest_matches_live_checks(
    history: tuple[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url, policy_path = history
    policy = load_drift_policy(policy_path)
    source = PrometheusSource(url)
    request.addfinalizer(source.close)
    start, end = T0 + timedelta(hours=10), T0 + timedelta(hours=44)
    for model in ("persistent", "gradual", "transient"):
        host = LocalRepoHost(tmp_path / model, runner=lambda record: None)  # each retrain completes
        live = []
        at = start
        while at <= end:
            run = run_check([model], source, host, policy, at, STEP)
            live += [(d.at, d.trigger_id) for d in run.decisions if d.decision == "trigger"]
            at += STEP
        span = lookback(policy, model)
        snapshots = source.timeline(model, "1h", start - span, end, STEP)
        replayed = replay(model, snapshots, policy, start, end, STEP, span)
        assert [(d.at, d.trigger_id) for d in replayed.triggers] == live
        assert len(live) == (0 if model == "transient" else 1)


class _Failing(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b"overloaded")

    def do_POST(self) -> None:  # queries are POSTed
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("delay", "timeout", "message"),
    [(0.0, "5", "kept answering 5xx"), (3.0, "1", "did not answer in time")],
)
def test_prometheus_failures_are_exit_three_and_dispatch_nothing(
    tmp_path: Path, delay: float, timeout: str, message: str
) -> None:
    handler = type("Handler", (_Failing,), {"delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        result = cli("check", "--prometheus", url, "--model", "churn", "--dispatch", "local",
                     "--repo", str(tmp_path), "--timeout", timeout)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 3
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / ".driftloop").exists()


def test_prometheus_down_is_exit_three(tmp_path: Path) -> None:
    from tests.support.processes import free_port

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = cli("check", "--prometheus", f"http://127.0.0.1:{free_port()}", "--model", "churn",
                 "--repo", str(tmp_path))  # fmt: skip
    assert result.returncode == 3
    assert "Prometheus" in result.stderr
    assert "unreachable" in result.stderr


def test_malformed_policy_is_exit_two(tmp_path: Path) -> None:
    bad = tmp_path / "drift.yaml"
    bad.write_text(POLICY.replace("critical: 0.25", "critical: 0.05"))
    result = cli(
        "check", "--prometheus", "http://127.0.0.1:1", "--policy", str(bad), "--model", "churn"
    )
    assert result.returncode == 2
    assert "defaults.thresholds.psi.critical: must be > warn" in result.stderr


def test_pushgateway_receives_decisions_and_last_success(
    history: tuple[str, Path], tmp_path: Path
) -> None:
    import shutil as _shutil

    from tests.support.processes import free_port, running

    binary = _shutil.which("prometheus-pushgateway")
    assert binary is not None, "scripts/setup.sh installs prometheus-pushgateway"
    url, policy = history
    port = free_port()
    command = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    with running(
        command, f"http://127.0.0.1:{port}/-/ready", "pushgateway", tmp_path / "pg.log"
    ) as gateway:
        result = cli("check", "--prometheus", url, "--policy", str(policy), "--models", str(policy.parent / "models"), "--dispatch", "none",
                     "--model", "transient", "--at", hour(13), "--pushgateway", gateway)  # fmt: skip
        assert result.returncode == 0, result.stderr
        import httpx

        metrics = httpx.get(f"{gateway}/metrics").text
    decision = json.loads(result.stdout)["decision"]
    assert (
        f'driftloop_check_decision{{decision="{decision}",instance="",job="driftloop-check",model="transient"}} 1'
        in metrics
    )
    assert "driftloop_check_last_success_timestamp_seconds{" in metrics


OVERRIDES = """\
models:
  gradual: {min_drifted_share: 0.2}
  transient: {sample_size_aware: {enabled: true, alpha: 0.001}}
  persistent:
    features:
      monthly_charges: {psi: {warn: 0.3, critical: 0.6}}
      tenure: {ignore: true}
"""


@pytest.mark.parametrize("overrides", ["", OVERRIDES], ids=["defaults", "overrides"])
def test_fleet_check_decides_as_per_model_full_timelines(
    history: tuple[str, Path], tmp_path: Path, request: pytest.FixtureRequest, overrides: str
) -> None:
    """The fleet-wide check (a fixed number of queries, history only of features that reached
    the lowest critical PSI) decides exactly as reading every feature of every model did."""
    from driftloop.policy import History, decide

    url, _ = history
    (tmp_path / "drift.yaml").write_text(POLICY + overrides)
    policy = load_drift_policy(tmp_path / "drift.yaml")
    source = PrometheusSource(url)
    request.addfinalizer(source.close)
    at, compared = T0 + timedelta(hours=2), 0
    while at <= T0 + timedelta(hours=46):
        before = source.queries
        fleet = run_check(list(SCENARIOS), source, None, policy, at, STEP).decisions
        # now: PSI, rows, value-range share (+ reference shape for noise-aware policies);
        # history: which models reached the floor, then their PSI and rows
        assert source.queries - before <= (9 if overrides else 6)
        for decision in fleet:
            model = decision.model
            earlier = source.timeline(model, "1h", at - lookback(policy, model), at, STEP)
            full = [s for s in earlier if s.at < at] + [source.current([model], "1h", at)[model]]
            alone = decide(model, at, full, History(), policy, STEP)
            assert decision.to_dict() == alone.to_dict(), (model, at)
            compared += decision.decision in ("trigger", "warn")
        at += timedelta(minutes=25)
    assert compared > 20  # the comparison covered drift, not only quiet hours


def test_check_queries_do_not_grow_with_the_fleet(
    history: tuple[str, Path], request: pytest.FixtureRequest
) -> None:
    url, policy_path = history
    policy = load_drift_policy(policy_path)
    source = PrometheusSource(url)
    request.addfinalizer(source.close)
    counts = []
    for models in (["persistent"], list(SCENARIOS)):
        before = source.queries
        run_check(models, source, None, policy, T0 + timedelta(hours=20), STEP)
        counts.append(source.queries - before)
    # PSI, rows and the value-range excess now; which models reached the floor; their PSI
    # and rows over the lookback
    assert counts[0] == counts[1] == 6


def test_detection_within_15_minutes_while_the_trigger_keeps_its_sustain(
    history: tuple[str, Path], tmp_path: Path
) -> None:
    """#20.1 on a real Prometheus: the backtest replays detection like the other signals.
    A lasting shift is `detected` within 15 minutes of onset; 48 hours of the reference's
    own traffic never are; the trigger still waits for its sustain."""
    url, policy = history
    detecting = tmp_path / "drift.yaml"
    detecting.write_text(DETECTING)
    models = str(policy.parent / "models")
    result = cli("backtest", "--prometheus", url, "--policy", str(detecting), "--models", models,
                 "--start", hour(1), "--end", hour(48), "--json", "--model", "persistent",
                 "--model", "transient", "--model", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["models"]
    onset = T0 + timedelta(hours=scenarios.ONSET_HOURS)
    first = report["persistent"]["detected"][0]
    assert timedelta(0) < datetime.fromisoformat(first["at"]) - onset <= timedelta(minutes=15)
    assert first["signal"] == "feature_drift"
    assert "monthly_charges" in first["reasons"][0]
    assert report["none"]["detected"] == []
    assert "detected" not in report["none"]["decisions"]
    assert report["transient"]["detected"]  # detected too: deciding is what tells them apart
    assert report["transient"]["trigger_count"] == 0
    (trigger,) = report["persistent"]["triggers"]
    assert datetime.fromisoformat(trigger["at"]) - onset >= timedelta(hours=4.8)

    live = cli("check", "--prometheus", url, "--policy", str(detecting), "--models", models,
               "--dry-run", "--at", hour(12.25), "--model", "persistent", "--model", "none")  # fmt: skip
    assert live.returncode == 0, live.stderr
    by_model = {line["model"]: line for line in map(json.loads, live.stdout.splitlines())}
    assert by_model["persistent"]["decision"] == "detected"
    assert "trigger_id" not in by_model["persistent"]
    assert by_model["persistent"]["evidence"]["detected"]["window"] == "5m"
    assert by_model["none"]["decision"] == "ok"
    before = cli("check", "--prometheus", url, "--policy", str(detecting), "--models", models,
                 "--dry-run", "--at", hour(11.9), "--model", "persistent")  # fmt: skip
    assert json.loads(before.stdout)["decision"] == "ok"
