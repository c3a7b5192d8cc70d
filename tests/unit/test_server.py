"""The model server's HTTP contract, in process: scoring protocol, validation, telemetry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from tests.support.bundles import train_bundle

from driftloop.serve.app import Settings, create_app
from driftloop.train.bundle import load_bundle

ROW = {
    "tenure_months": 3,
    "monthly_charges": 90.5,
    "contract": "month_to_month",
    "payment_method": "electronic_check",
    "support_calls": 4,
    "senior_citizen": 1,
}


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle("churn", tmp_path_factory.mktemp("bundle") / "churn", rows=3000)


@pytest.fixture
def client(bundle_dir: Path) -> Iterator[TestClient]:
    app = create_app(load_bundle(bundle_dir), Settings(max_rows=50, max_body_bytes=20_000))
    with TestClient(app) as test_client:
        yield test_client


def samples(client: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = client.get("/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def bin_total(client: TestClient, feature: str) -> float:
    return sum(
        v
        for k, v in samples(client, "driftloop_feature_bin_total").items()
        if ("feature", feature) in k
    )


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_records": [ROW, ROW]},
        {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())] * 2}},
        {"instances": [ROW, ROW]},
        {"inputs": [ROW, ROW]},
    ],
)
def test_mlflow_scoring_formats(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    assert set(predictions) <= {0, 1}
    assert bin_total(client, "monthly_charges") == 2


def test_every_bin_series_exists_before_traffic(client: TestClient, bundle_dir: Path) -> None:
    profile = load_bundle(bundle_dir).profile
    counters = samples(client, "driftloop_feature_bin_total")
    ratios = samples(client, "driftloop_feature_reference_ratio")
    expected = sum(len(f.bins) for f in profile.features.values())
    assert len(counters) == len(ratios) == expected
    assert set(counters.values()) == {0.0}
    assert len(samples(client, "driftloop_prediction_bin_total")) == len(profile.prediction.bins)  # type: ignore[union-attr]
    for labels in counters:
        assert dict(labels)["model"] == "churn"
        assert dict(labels)["version"] == "1"


def test_unseen_category_and_null_are_counted(client: TestClient) -> None:
    # a number, a boolean or a float where a category belongs is a category nobody saw
    rows = [
        {**ROW, "contract": value, "tenure_months": None} for value in ("lifetime", 5, True, 2.5)
    ]
    assert client.post("/invocations", json={"dataframe_records": rows}).status_code == 200
    counters = samples(client, "driftloop_feature_bin_total")
    assert (
        counters[
            (("bin", "__other__"), ("feature", "contract"), ("model", "churn"), ("version", "1"))
        ]
        == 4
    )
    assert (
        counters[
            (("bin", "missing"), ("feature", "tenure_months"), ("model", "churn"), ("version", "1"))
        ]
        == 4
    )


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "malformed JSON"),
        ({"content": b"a,b\n1,2", "headers": {"content-type": "text/csv"}}, 415, "application/json"),
        ({"json": {"dataframe_records": []}}, 422, "empty batch"),
        ({"json": {"dataframe_records": [{**ROW, "extra": 1}]}}, 422, "row 0: unknown field(s) extra"),
        ({"json": {"dataframe_records": [ROW, {k: v for k, v in ROW.items() if k != "contract"}]}}, 422,
         "row 1: missing field(s) contract"),
        ({"json": {"dataframe_records": [{**ROW, "monthly_charges": "high"}]}}, 422,
         "row 0, field 'monthly_charges': expected a number"),
        ({"json": {"dataframe_records": [{**ROW, "support_calls": True}]}}, 422, "expected a number"),
        ({"content": json.dumps({"dataframe_records": [ROW]}).replace("90.5", "NaN").encode(),
          "headers": {"content-type": "application/json"}}, 422, "non-finite number NaN"),
        ({"content": json.dumps({"dataframe_records": [ROW]}).replace("90.5", "1e999").encode(),
          "headers": {"content-type": "application/json"}}, 422, "non-finite"),
        ({"json": {"dataframe_records": [ROW] * 51}}, 413, "at most 50"),
        ({"content": b'{"dataframe_records": ' + b"[" * 9_000 + b"]" * 9_000 + b"}",
          "headers": {"content-type": "application/json"}}, 400, "nested too deeply"),
        ({"json": {"dataframe_records": [{**ROW, "contract": "x" * 30_000}]}}, 413, "at most 20000"),
        ({"json": {"records": [ROW]}}, 422, "give exactly one of"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_right_4xx_and_count_nothing(
    client: TestClient, kwargs: dict[str, object], status: int, message: str
) -> None:
    response = client.post("/invocations", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert bin_total(client, "monthly_charges") == 0
    assert sum(samples(client, "driftloop_prediction_bin_total").values()) == 0
    requests = samples(client, "driftloop_requests_total")
    assert requests[(("code", str(status)), ("model", "churn"), ("version", "1"))] == 1
    # and the server keeps serving
    assert client.post("/invocations", json={"dataframe_records": [ROW]}).status_code == 200


def test_huge_finite_numbers_are_scored(client: TestClient) -> None:
    response = client.post(
        "/invocations", json={"dataframe_records": [{**ROW, "monthly_charges": 1e300}]}
    )
    assert response.status_code == 200
    counters = samples(client, "driftloop_feature_bin_total")
    top = max(
        int(dict(k)["bin"])
        for k in counters
        if ("feature", "monthly_charges") in k and dict(k)["bin"] != "missing"
    )
    assert (
        counters[
            (
                ("bin", str(top)),
                ("feature", "monthly_charges"),
                ("model", "churn"),
                ("version", "1"),
            )
        ]
        == 1
    )


def test_feedback_counts_outcomes(client: TestClient) -> None:
    body = {
        "records": [
            {"prediction": 1, "label": 1},
            {"prediction": 1, "label": 0},
            {"prediction": 0, "label": 0},
        ]
    }
    response = client.post("/feedback", json=body)
    assert response.status_code == 200
    assert response.json() == {"accepted": 3}
    feedback = {
        dict(k)["outcome"]: v for k, v in samples(client, "driftloop_feedback_total").items()
    }
    assert feedback == {"tp": 1, "fp": 1, "tn": 1, "fn": 0}
    assert client.post("/feedback", json={"records": [{"prediction": 1}]}).status_code == 422


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "model": "churn", "version": "1"}
    client.app.state.driftloop.draining = True  # type: ignore[attr-defined]
    assert client.get("/readyz").status_code == 503


def test_latency_histogram_and_reference_metrics(client: TestClient, bundle_dir: Path) -> None:
    client.post("/invocations", json={"dataframe_records": [ROW]})
    counts = samples(client, "driftloop_request_duration_seconds_count")
    assert counts[(("model", "churn"), ("version", "1"))] == 1
    reference = {
        dict(k)["metric"]: v for k, v in samples(client, "driftloop_reference_metric").items()
    }
    assert reference["roc_auc"] == pytest.approx(load_bundle(bundle_dir).metrics["roc_auc"])


def test_golden_metrics_are_exported_only_when_scored(client: TestClient, bundle_dir: Path) -> None:
    from dataclasses import replace

    from driftloop.config import GateSettings
    from driftloop.serve.golden import golden_metrics
    from driftloop.synthetic import scenarios

    assert samples(client, "driftloop_golden_metric") == {}  # no --golden: no series at all
    bundle = load_bundle(bundle_dir)
    golden = golden_metrics(bundle, scenarios.reference("churn", rows=800, seed=4), GateSettings())
    assert set(golden) == {"roc_auc", "accuracy", "f1_macro", "primary"}
    assert golden["primary"] == golden["roc_auc"]  # the gate policy's primary for binary
    app = create_app(replace(bundle, golden=golden))
    with TestClient(app) as scored:
        exported = {
            dict(k)["metric"]: v for k, v in samples(scored, "driftloop_golden_metric").items()
        }
    assert exported == pytest.approx(golden)
    assert 0.6 < exported["roc_auc"] <= 1.0  # a real score of the reference-like rows


def test_feedback_counts_under_the_version_that_predicted(client: TestClient) -> None:
    """During a canary, feedback sent through the Service reaches either version's pods:
    records naming the version that predicted (the answer's header) count under it."""
    answer = client.post("/invocations", json={"dataframe_records": [ROW]})
    assert answer.headers["driftloop-model-version"] == "1"
    body = {"records": [
        {"prediction": 1, "label": 1, "version": "2"},
        {"prediction": 1, "label": 0, "version": "2"},
        {"prediction": 0, "label": 0},
    ]}  # fmt: skip
    assert client.post("/feedback", json=body).json() == {"accepted": 3}
    by_version: dict[str, dict[str, float]] = {}
    for key, value in samples(client, "driftloop_feedback_total").items():
        labels = dict(key)
        by_version.setdefault(labels["version"], {})[labels["outcome"]] = value
    assert by_version["2"] == {"tp": 1, "fp": 1}
    assert by_version["1"] == {"tp": 0, "fp": 0, "tn": 1, "fn": 0}
    bad = client.post("/feedback", json={"records": [{"prediction": 1, "label": 1,
                                                      "version": "2\n#"}]})  # fmt: skip
    assert bad.status_code == 422
    assert "not a model version" in bad.json()["message"]
    # each version is a label value of its own: a handful, not whatever a client sends
    for version in ("3", "4", "5"):
        one = {"records": [{"prediction": 1, "label": 1, "version": version}]}
        assert client.post("/feedback", json=one).status_code == 200
    flood = client.post("/feedback", json={"records": [{"prediction": 1, "label": 1,
                                                        "version": "6"}]})  # fmt: skip
    assert flood.status_code == 422
    assert "counts at most 4" in flood.json()["message"]


@pytest.mark.parametrize(
    "label", ["yes", 7, 0.7, "x" * 10_000, True, None, [1], "1 "], ids=lambda v: repr(v)[:12]
)
def test_feedback_with_a_label_that_is_no_class_is_refused_and_counted_nowhere(
    client: TestClient, label: object
) -> None:
    """#23.4: these used to be counted, corrupting realised AUC (and able to trigger a retrain)."""
    before = samples(client, "driftloop_feedback_total")
    body = {"records": [{"prediction": 1, "label": 1}, {"prediction": 1, "label": label}]}
    response = client.post("/feedback", json=body)
    assert response.status_code == 422
    assert "label" in response.json()["message"]
    assert samples(client, "driftloop_feedback_total") == before  # not even the valid record


def test_feedback_takes_a_whole_float_for_its_class_and_refuses_a_foreign_prediction(
    client: TestClient,
) -> None:
    assert (
        client.post("/feedback", json={"records": [{"prediction": 1.0, "label": 0.0}]}).status_code
        == 200
    )
    response = client.post("/feedback", json={"records": [{"prediction": "maybe", "label": 0}]})
    assert response.status_code == 422
    assert "prediction" in response.json()["message"]


def test_predictions_are_counted_per_group_of_the_sensitive_attribute(
    client: TestClient, bundle_dir: Path
) -> None:
    bundle = load_bundle(bundle_dir)
    before = samples(client, "driftloop_prediction_group_total")
    # every group of senior_citizen's reference bins, both served classes, from start-up
    groups = bundle.profile.features["senior_citizen"].bins
    assert len(before) == 2 * len(groups)
    assert set(before.values()) == {0.0}
    rows = [{**ROW, "senior_citizen": s, "tenure_months": t} for s in (0, 1) for t in (1, 70)]
    response = client.post("/invocations", json={"dataframe_records": rows})
    served = response.json()["predictions"]
    counted = samples(client, "driftloop_prediction_group_total")
    positive = str(bundle.pipeline.classes_[-1])
    for group in ("0", "1"):
        mine = [p for r, p in zip(rows, served, strict=True) if str(r["senior_citizen"]) == group]
        for kind in ("positive", "negative"):
            key = (("group", group), ("model", "churn"), ("predicted", kind), ("version", "1"))
            hits = sum((str(p) == positive) == (kind == "positive") for p in mine)
            assert counted[key] == hits
    assert sum(counted.values()) == len(rows)
    # the training-time value the FairnessDrift alert compares with, from the same groups
    reference = samples(client, "driftloop_reference_metric")
    key = (("metric", "demographic_parity_difference"), ("model", "churn"), ("version", "1"))
    assert reference[key] == pytest.approx(bundle.metrics["demographic_parity_difference"])
    assert 0 <= bundle.metrics["demographic_parity_difference"] <= 1
