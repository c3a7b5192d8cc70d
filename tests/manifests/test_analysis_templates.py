"""The AnalysisTemplates on a real Prometheus, judged as Argo Rollouts judges an AnalysisRun
(tests/support/argo_analysis.py): each template x {healthy, broken, no data, flapping, one bad
minute} gives the outcome docs/canary-analysis.md promises. The table is read from the docs,
so the docs and the tests cannot disagree."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.support.argo_analysis import measure, run_metric
from tests.support.history import Series, backfill
from tests.support.processes import prometheus

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 6, 1, 12, tzinfo=UTC)
ANALYSIS = START + timedelta(minutes=12)  # the canary step begins; 12 minutes of history
MINUTES = 40
STEP = 15  # seconds between scrapes
BINS = [str(i) for i in range(10)] + ["missing"]
REFERENCE = [0.1] * 10 + [0.0]
SHIFTED = [0.3, 0.3, 0.2, 0.1, 0.05, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0]
BAD_MINUTE = ANALYSIS + timedelta(minutes=3)  # the one bad minute ends here
LABELS_PER_SECOND = 1.0  # /feedback for the canary's version and for the stable's
WRONG_HEALTHY, WRONG_BROKEN = 0.2, 0.4  # share of wrong answers


def templates() -> dict[str, dict[str, Any]]:
    """The templates, with argument defaults filled into their conditions as Argo does
    (the hashes go into the queries when they run)."""
    text = (ROOT / "k8s/base/analysis-templates.yaml").read_text()
    for name, value in ARGS.items():
        text = re.sub(
            r"(Condition: .*)\{\{args\." + re.escape(name) + r"\}\}", r"\g<1>" + value, text
        )
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(text) if d}


def table() -> list[tuple[str, str, str]]:
    """(template, column, outcome) for every cell of the docs' table."""
    text = (ROOT / "docs/canary-analysis.md").read_text()
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    cells = []
    for row in rows[1:]:
        values = [cell.strip() for cell in row]
        if set(values[0]) <= {"-"}:
            continue
        cells += [(values[0], header[i], values[i]) for i in range(2, len(header))]
    return cells


Behaviour = Callable[[datetime], bool]  # broken at this moment?
BEHAVIOURS: dict[str, Behaviour | None] = {
    "healthy": lambda t: False,
    "broken": lambda t: True,
    "no data": None,
    "flapping": lambda t: ((t - START) // timedelta(minutes=2)) % 2 == 1,
    "one bad minute": lambda t: BAD_MINUTE - timedelta(minutes=1) < t <= BAD_MINUTE,
}


def canary_series(hash_: str, broken: Behaviour | None) -> list[Series]:
    """MINUTES of one canary's counters, a scrape every STEP seconds; each scrape interval's
    requests are broken or healthy as ``broken`` says at its end (no traffic when None)."""
    # each canary a version of its own: live quality joins feedback to pods by version
    base = {"rollouts_pod_template_hash": hash_, "model": "churn", "version": f"v-{hash_}"}
    times = [START + timedelta(seconds=STEP * i) for i in range(MINUTES * 60 // STEP + 1)]
    fast = {"0.05": 0.9, "0.1": 0.99, "0.15": 1.0, "0.25": 1.0, "+Inf": 1.0}
    slow = {"0.05": 0.0, "0.1": 0.1, "0.15": 0.5, "0.25": 0.9, "+Inf": 1.0}
    rate = 10.0 if broken is not None else 0.0  # requests per second
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}

    def add(name: str, labels: dict[str, str], i: int, amount: float) -> None:
        values = counters.setdefault((name, tuple(sorted(labels.items()))), [0.0] * len(times))
        values[i] = (values[i - 1] if i else 0.0) + amount

    for i, at in enumerate(times):
        bad = bool(broken(at)) if broken is not None and i else False
        n = rate * STEP if i else 0.0
        add("driftloop_requests_total", {"code": "200"}, i, n * (0.8 if bad else 1.0))
        add("driftloop_requests_total", {"code": "500"}, i, n * (0.2 if bad else 0.0))
        for le, share in (slow if bad else fast).items():
            add("driftloop_request_duration_seconds_bucket", {"le": le}, i, n * share)
        add("driftloop_request_duration_seconds_count", {}, i, n)
        for bin_, share in zip(BINS, SHIFTED if bad else REFERENCE, strict=True):
            add("driftloop_prediction_bin_total", {"bin": bin_}, i, n * share)
        labels = LABELS_PER_SECOND * STEP if i and broken is not None else 0.0
        wrong = WRONG_BROKEN if bad else WRONG_HEALTHY
        add("driftloop_feedback_total", {"outcome": "tp"}, i, labels * (1 - wrong))
        add("driftloop_feedback_total", {"outcome": "fp"}, i, labels * wrong)
        add("driftloop_feedback_absolute_error_total", {}, i, 0.0)
    stamps = [int(t.timestamp()) for t in times]
    out = [
        Series(name, {**base, **dict(labels)}, list(zip(stamps, values, strict=True)))
        for (name, labels), values in counters.items()
    ]
    out += [
        Series("driftloop_prediction_reference_ratio", {**base, "bin": b}, [(s, r) for s in stamps])
        for b, r in zip(BINS, REFERENCE, strict=True)
    ]
    out.append(Series("driftloop_reference_rows", base, [(s, 8000.0) for s in stamps]))
    return out


# the templates' argument defaults, as Argo fills them in
ARGS = {
    arg["name"]: str(arg["value"])
    for doc in yaml.safe_load_all((ROOT / "k8s/base/analysis-templates.yaml").read_text())
    if doc
    for arg in doc["spec"]["args"]
    if "value" in arg
}


def label(column: str) -> str:
    return re.sub(r"\W+", "-", column)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("analysis")
    series = [s for column, b in BEHAVIOURS.items() for s in canary_series(label(column), b)]
    series += canary_series("stable", BEHAVIOURS["healthy"])  # what live quality compares with
    backfill(series, work / "tsdb")
    with prometheus(work, [], [], tsdb=work / "tsdb") as url:
        yield url


def seconds(text: str) -> int:
    value, unit = int(text[:-1]), text[-1]
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def query(prom: str, metric: dict[str, Any], canary_hash: str, at: datetime) -> list[float]:
    text = metric["provider"]["prometheus"]["query"]
    for name, value in {**ARGS, "canary-hash": canary_hash, "stable-hash": "stable"}.items():
        text = text.replace("{{args." + name + "}}", value)
    body = httpx.post(f"{prom}/api/v1/query", data={"query": text, "time": at.timestamp()}).json()
    assert body["status"] == "success", body  # a query error would be an Error measurement
    return [float(sample["value"][1]) for sample in body["data"]["result"]]


def outcome(prom: str, metric: dict[str, Any], canary_hash: str) -> tuple[str, list[str]]:
    """The metric's phase after measuring at its interval from the step's start: a count-
    limited metric until it completes; a background one for 20 minutes, then the Rollout
    finishes its steps and terminates it."""
    first = ANALYSIS + timedelta(seconds=seconds(metric.get("initialDelay", "0s")))
    every = timedelta(seconds=seconds(metric["interval"]))

    def result(k: int) -> list[float]:
        return query(prom, metric, canary_hash, first + k * every)

    # count-limited: until it completes (errors are retried and do not count); background: 20
    limit = (
        metric["count"] + metric.get("consecutiveErrorLimit", 4) + 1 if "count" in metric else 20
    )
    run = run_metric(metric, result, limit=limit)
    return run.status(terminating=True), run.phases


@pytest.mark.parametrize(("name", "column", "expected"), table())
def test_each_template_decides_as_documented(
    prom: str, name: str, column: str, expected: str
) -> None:
    if column == "limits":
        return
    metric = templates()[name]["spec"]["metrics"][0]
    phase, measurements = outcome(prom, metric, label(column))
    assert phase == expected, (name, column, measurements)
    if column == "no data":
        assert "Successful" not in measurements
    if column == "one bad minute" and "count" not in metric:
        assert measurements.count("Failed") == 1  # the bad minute was seen, and tolerated


def test_no_series_at_all_is_inconclusive_not_successful(prom: str) -> None:
    for template in templates().values():
        metric = template["spec"]["metrics"][0]
        phase, measurements = outcome(prom, metric, "absent")
        assert phase == "Inconclusive", (template["metadata"]["name"], measurements)


def test_the_judgement_follows_argo() -> None:
    """Failure is checked before success; an unguarded index of an empty result is an Error;
    count reached with inconclusive measurements within the limit is Successful (what the
    old templates allowed); Error runs past consecutiveErrorLimit."""
    both = {"successCondition": "result[0] > 0", "failureCondition": "result[0] > 1"}
    assert measure(both, [2.0]) == "Failed"  # both hold: failure wins
    assert measure(both, [0.5]) == "Successful"
    assert measure(both, []) == "Error"
    assert measure({"successCondition": "result[0] > 0"}, [0.0]) == "Failed"
    old = {**both, "count": 3, "inconclusiveLimit": 3}
    assert run_metric(old, [[-1.0]] * 3).status() == "Successful"  # three Inconclusive
    errors = run_metric({**both, "interval": "1m"}, [None] * 6)
    assert errors.status() == "Error"
    assert errors.phases == ["Error"] * 5  # the fifth consecutive error exceeds the default 4


def test_templates_guard_every_condition() -> None:
    for template in templates().values():
        for metric in template["spec"]["metrics"]:
            assert metric["successCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
            assert metric["failureCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
