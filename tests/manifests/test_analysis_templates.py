"""The AnalysisTemplates' queries on a real Prometheus, their conditions evaluated as Argo
Rollouts would: a healthy canary is Successful, a broken one Failed, no data Inconclusive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from tests.support.argo_expr import measurement_phase
from tests.support.history import Series, backfill
from tests.support.processes import prometheus

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 6, 1, 12, tzinfo=UTC)
BINS = [str(i) for i in range(10)] + ["missing"]


def templates() -> dict[str, dict]:  # type: ignore[type-arg]
    docs = yaml.safe_load_all((ROOT / "k8s/base/analysis-templates.yaml").read_text())
    return {d["metadata"]["name"]: d for d in docs if d}


def canary_series(
    hash_: str, errors: float, slow: bool, shifted: bool, traffic: bool = True
) -> list[Series]:
    """30 minutes of one canary's counters, a sample every 15 s."""
    times = [int((END - timedelta(seconds=15 * i)).timestamp()) for i in range(120, -1, -1)]
    rate = 10.0 if traffic else 0.0  # requests per second
    base = {"rollouts_pod_template_hash": hash_, "model": "churn", "version": "2"}
    out = []

    def counter(name: str, labels: dict[str, str], per_second: float) -> None:
        start = times[0]
        out.append(Series(name, {**base, **labels}, [(t, per_second * (t - start)) for t in times]))

    counter("driftloop_requests_total", {"code": "200"}, rate * (1 - errors))
    counter("driftloop_requests_total", {"code": "500"}, rate * errors)
    fast = {"0.05": 0.9, "0.1": 0.99, "0.15": 1.0, "0.25": 1.0, "+Inf": 1.0}
    slow_ = {"0.05": 0.0, "0.1": 0.1, "0.15": 0.5, "0.25": 0.9, "+Inf": 1.0}
    for le, share in (slow_ if slow else fast).items():
        counter("driftloop_request_duration_seconds_bucket", {"le": le}, rate * share)
    counter("driftloop_request_duration_seconds_count", {}, rate)
    reference = [0.1] * 10 + [0.0]
    current = [0.3, 0.3, 0.2, 0.1, 0.05, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0] if shifted else reference
    for bin_, ref, cur in zip(BINS, reference, current, strict=True):
        out.append(
            Series(
                "driftloop_prediction_reference_ratio",
                {**base, "bin": bin_},
                [(t, ref) for t in times],
            )
        )
        counter("driftloop_prediction_bin_total", {"bin": bin_}, rate * cur)
    return out


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("analysis")
    series = (
        canary_series("healthy", errors=0.0, slow=False, shifted=False)
        + canary_series("broken", errors=0.2, slow=True, shifted=True)
        + canary_series("idle", errors=0.0, slow=False, shifted=False, traffic=False)
    )
    backfill(series, work / "tsdb")
    with prometheus(work, [], [], tsdb=work / "tsdb") as url:
        yield url


def run_template(prom: str, template: dict, canary_hash: str) -> str:  # type: ignore[type-arg]
    metric = template["spec"]["metrics"][0]
    query = metric["provider"]["prometheus"]["query"].replace("{{args.canary-hash}}", canary_hash)
    body = httpx.get(
        f"{prom}/api/v1/query", params={"query": query, "time": END.timestamp()}
    ).json()
    assert body["status"] == "success", body  # an error here would abort a real rollout
    result = [float(sample["value"][1]) for sample in body["data"]["result"]]
    return measurement_phase(metric["successCondition"], metric["failureCondition"], result)


@pytest.mark.parametrize("name", ["canary-error-rate", "canary-latency", "canary-prediction-drift"])
def test_healthy_broken_and_no_data(prom: str, name: str) -> None:
    template = templates()[name]
    assert run_template(prom, template, "healthy") == "Successful"
    assert run_template(prom, template, "broken") == "Failed"
    assert run_template(prom, template, "idle") == "Inconclusive"  # series, but no traffic
    assert run_template(prom, template, "absent") == "Inconclusive"  # no series at all


def test_templates_set_limits_and_both_conditions() -> None:
    for template in templates().values():
        for metric in template["spec"]["metrics"]:
            assert metric["successCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
            assert metric["failureCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
            assert metric["failureLimit"] >= 1
            assert metric["inconclusiveLimit"] >= 1
