"""The canary's quality analysis with two real model servers: each scores the golden set when
it loads (`serve --golden`); a real Prometheus scrapes them with the pod-template-hash label
Kubernetes would attach; canary-golden-quality, judged as Argo Rollouts judges it, aborts a
canary worse than the stable beyond the gates' tolerance, passes an equal one, and pauses
when the canary exports no golden metric."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.support.argo_analysis import run_metric
from tests.support.bundles import ROOT, train_bundle
from tests.support.processes import model_server, prometheus

from driftloop.config import load_gate_policy, load_model
from driftloop.synthetic import scenarios
from driftloop.train.bundle import ModelBundle, save_bundle
from driftloop.train.data import prepare_features
from driftloop.train.fit import fit_model

pytestmark = pytest.mark.integration
GOLDEN = "demo://churn/persistent/golden?rows=3000"


def template(name: str = "canary-golden-quality") -> dict[str, Any]:
    docs = yaml.safe_load_all((ROOT / "k8s/base/analysis-templates.yaml").read_text())
    found = next(d for d in docs if d and d["metadata"]["name"] == name)
    metric: dict[str, Any] = found["spec"]["metrics"][0]
    for arg in found["spec"]["args"]:  # defaults, as Argo fills them in
        if "value" in arg:
            for key in ("successCondition", "failureCondition"):
                metric[key] = metric[key].replace("{{args." + arg["name"] + "}}", arg["value"])
            query = metric["provider"]["prometheus"]["query"]
            metric["provider"]["prometheus"]["query"] = query.replace(
                "{{args." + arg["name"] + "}}", arg["value"]
            )
    return metric


def worse_bundle(target: Path) -> Path:
    """Trained on labels shuffled against the features: as good as a coin on the golden set."""
    spec = load_model("churn", ROOT / "models")
    data = scenarios.reference("churn", rows=4000)
    data[spec.target] = data[spec.target].sample(frac=1.0, random_state=3).to_numpy()
    fitted = fit_model(spec, data)
    bundle = ModelBundle(spec, fitted.pipeline, fitted.profile, "9", fitted.metrics)
    save_bundle(target, bundle, prepare_features(data.head(5), spec), ["scikit-learn"])
    return target


@dataclass
class Stack:
    prom: str
    urls: dict[str, str]  # stable, equal, worse -> server URL


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("canary-quality")
    bundles = {
        "stable": train_bundle("churn", work / "stable", version="1"),
        "equal": train_bundle("churn", work / "equal", version="2"),  # same data, same seed
        "worse": worse_bundle(work / "worse"),
    }
    golden = ["--golden", GOLDEN, "--gate-policy", str(ROOT / "policies/gates.yaml")]
    with (
        model_server(bundles["stable"], work / "stable.log", *golden) as stable,
        model_server(bundles["equal"], work / "equal.log", *golden) as equal,
        model_server(bundles["worse"], work / "worse.log", *golden) as worse,
    ):
        hashes = {stable: "hash-stable", equal: "hash-equal", worse: "hash-worse"}
        labels = {url: {"rollouts_pod_template_hash": h} for url, h in hashes.items()}
        with prometheus(work / "prometheus", list(hashes), [], labels=labels) as prom:
            wait_scraped(prom, set(hashes.values()))
            yield Stack(prom, {"stable": stable, "equal": equal, "worse": worse})


def wait_scraped(prom: str, hashes: set[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = {
            series["metric"]["rollouts_pod_template_hash"]
            for series in query(prom, 'driftloop_golden_metric{metric="primary"}')
        }
        if found >= hashes:
            return
        assert time.monotonic() < deadline, f"only {found} scraped"
        time.sleep(0.5)


def query(prom: str, text: str) -> list[dict[str, Any]]:
    body = httpx.post(f"{prom}/api/v1/query", data={"query": text}, timeout=5.0).json()
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def outcome(
    prom: str, canary: str, stable: str, name: str = "canary-golden-quality"
) -> tuple[str, list[str]]:
    metric = template(name)
    text = metric["provider"]["prometheus"]["query"]
    text = text.replace("{{args.canary-hash}}", canary).replace("{{args.stable-hash}}", stable)

    def measure(_: int) -> list[float]:
        return [float(series["value"][1]) for series in query(prom, text)]

    run = run_metric(metric, measure, limit=metric["count"] + metric["consecutiveErrorLimit"] + 1)
    return run.status(terminating=True), run.phases


def test_a_worse_canary_aborts(servers: Stack) -> None:
    phase, measurements = outcome(servers.prom, "hash-worse", "hash-stable")
    assert phase == "Failed", measurements
    assert measurements == ["Failed"]  # failureLimit 0: the first measurement decides


def test_an_equal_canary_passes(servers: Stack) -> None:
    phase, measurements = outcome(servers.prom, "hash-equal", "hash-stable")
    assert phase == "Successful", measurements
    assert measurements == ["Successful", "Successful"]


def test_a_canary_without_golden_metrics_pauses(servers: Stack) -> None:
    phase, _ = outcome(servers.prom, "hash-absent", "hash-stable")
    assert phase == "Inconclusive"


def test_tolerance_is_the_gates(servers: Stack) -> None:
    tolerance = load_gate_policy(ROOT / "policies/gates.yaml").defaults.max_relative_regression
    metric = template()
    assert metric["successCondition"].endswith(f"result[0] >= -{tolerance}")
    assert metric["failureCondition"].endswith(f"result[0] < -{tolerance}")
    auc = {
        series["metric"]["rollouts_pod_template_hash"]: float(series["value"][1])
        for series in query(servers.prom, 'driftloop_golden_metric{metric="roc_auc"}')
    }
    assert auc["hash-worse"] < auc["hash-stable"] * 0.9  # the metric the analysis compares


def through_the_service(stack: Stack, canary: str, rows: int = 3000) -> None:
    """Traffic as a Service spreads it: each batch to the stable or the canary, and its
    labels later to either, naming the version that predicted (the answer's header)."""
    features = load_model("churn", ROOT / "models").feature_names
    frame = scenarios.stream("churn", "none", hours=3, rows_per_hour=rows // 3)
    pods = [stack.urls["stable"], stack.urls[canary]]
    with httpx.Client(timeout=10.0) as client:
        for i, start in enumerate(range(0, len(frame), 100)):
            batch = frame.iloc[start : start + 100]
            answer = client.post(f"{pods[i % 2]}/invocations",
                                 json={"dataframe_records": batch[features].to_dict("records")})  # fmt: skip
            version = answer.headers["driftloop-model-version"]
            records = [
                {"prediction": p, "label": int(y), "version": version}
                for p, y in zip(answer.json()["predictions"], batch["churned"], strict=True)
            ]
            feedback = client.post(f"{pods[(i // 2) % 2]}/feedback", json={"records": records})
            feedback.raise_for_status()


def wait_labels(prom: str, versions: set[str], rows: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = {
            s["metric"]["version"]: float(s["value"][1])
            for s in query(prom, "sum by (version) (driftloop_feedback_total)")
        }
        if all(found.get(v, 0) >= rows for v in versions):
            return
        assert time.monotonic() < deadline, f"labels scraped: {found}"
        time.sleep(0.5)


def test_live_quality_per_version_through_a_service(servers: Stack) -> None:
    """canary-live-quality with real servers: feedback reaches pods of either version, yet
    counts under the version that predicted. A canary as good as the stable passes; the
    shuffled-label one, worse on live labels, aborts."""
    through_the_service(servers, "equal")
    through_the_service(servers, "worse")
    wait_labels(servers.prom, {"1", "2", "9"}, 1500)
    phase, measurements = outcome(servers.prom, "hash-equal", "hash-stable", "canary-live-quality")
    assert phase == "Successful", measurements
    phase, measurements = outcome(servers.prom, "hash-worse", "hash-stable", "canary-live-quality")
    assert phase == "Failed", measurements
    # too few labels on a side is no data: the rollout pauses, it is never passed
    phase, _ = outcome(servers.prom, "hash-absent", "hash-stable", "canary-live-quality")
    assert phase == "Inconclusive"
