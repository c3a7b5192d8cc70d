"""Quality from binned scores: realised AUC from feedback, and the label-free estimate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import roc_auc_score
from starlette.testclient import TestClient
from tests.support.bundles import ROOT, train_bundle

from driftloop.config import load_model
from driftloop.drift.binned_quality import binned_auc, calibration
from driftloop.serve.app import Settings, create_app
from driftloop.synthetic import scenarios
from driftloop.train.bundle import load_bundle
from driftloop.train.data import prepare_features


def test_binned_auc_is_scikit_learns_on_the_bin_indices() -> None:
    # the promtool test's hand-computed case: 13 / 16
    assert binned_auc(np.array([3, 1, 0]), np.array([1, 1, 2])) == 13 / 16
    indices = np.array([0, 0, 0, 1, 0, 1, 2, 2])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert roc_auc_score(labels, indices) == 13 / 16
    rng = np.random.default_rng(7)
    for _ in range(20):
        bins = rng.integers(0, 10, 500)
        positive = rng.random(500) < (0.1 + 0.08 * bins)
        negatives = np.bincount(bins[~positive], minlength=10)
        positives = np.bincount(bins[positive], minlength=10)
        assert binned_auc(negatives, positives) == pytest.approx(roc_auc_score(positive, bins))
    assert binned_auc(np.array([4, 0]), np.array([0, 0])) is None


def test_calibration_is_the_smoothed_positive_rate_per_bin() -> None:
    bins = np.array([0, 0, 0, 1, 1])
    positive = np.array([True, False, False, True, True])
    assert calibration(bins, positive, 3).tolist() == [2 / 5, 3 / 4, 1 / 2]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    bundle_dir = train_bundle("churn", tmp_path_factory.mktemp("bundle") / "churn", rows=6000)
    app = create_app(load_bundle(bundle_dir), Settings(max_rows=5000, max_body_bytes=5_000_000))
    with TestClient(app) as test_client:
        yield test_client


def _families(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _by_bin(series: dict[tuple[tuple[str, str], ...], float], bins: tuple[str, ...],
            **match: str) -> np.ndarray:  # fmt: skip
    values = {dict(k)["bin"]: v for k, v in series.items() if match.items() <= dict(k).items()}
    return np.array([values[b] for b in bins])


def test_the_server_exports_what_realised_and_estimated_auc_need(client: TestClient) -> None:
    spec = load_model("churn", ROOT / "models")
    stream = scenarios.stream("churn", "none", hours=3)
    rows = prepare_features(stream, spec).astype(object).to_dict(orient="records")
    answer = client.post("/invocations?scores=true", json={"dataframe_records": rows}).json()
    scores = np.array(answer["scores"])
    assert len(scores) == len(rows)
    assert "scores" not in client.post("/invocations", json={"dataframe_records": rows[:1]}).json()
    labels = stream["churned"].tolist()
    records = [
        {"prediction": p, "label": y, "score": s}
        for p, y, s in zip(answer["predictions"], labels, scores.tolist(), strict=True)
    ]
    assert client.post("/feedback", json={"records": records}).json() == {"accepted": len(rows)}

    families = _families(client)
    bundle = client.app.state.driftloop.bundle  # type: ignore[attr-defined]
    prediction = bundle.profile.prediction
    index = prediction.index_of_prepared(scores)
    negatives = _by_bin(families["driftloop_feedback_score_bin_total"], prediction.bins,
                        **{"class": "negative"})  # fmt: skip
    positives = _by_bin(families["driftloop_feedback_score_bin_total"], prediction.bins,
                        **{"class": "positive"})  # fmt: skip
    below = _by_bin(families["driftloop_feedback_negative_below_total"], prediction.bins)
    assert below.tolist() == np.concatenate([[0], np.cumsum(negatives)[:-1]]).tolist()
    realised = binned_auc(negatives, positives)
    assert realised == pytest.approx(roc_auc_score(np.array(labels) == 1, index))

    # The estimate from the same scored rows, without their labels: close to the truth when
    # P(y | score) is the reference's (no concept change in this stream).
    expected = _by_bin(families["driftloop_prediction_expected_positives_total"], prediction.bins)
    rows_per_bin = _by_bin(families["driftloop_prediction_bin_total"], prediction.bins)
    estimated = binned_auc(rows_per_bin - expected, expected)
    assert estimated is not None
    assert realised is not None
    assert abs(estimated - realised) < 0.03
    correct = next(iter(families["driftloop_prediction_expected_correct_total"].values()))
    accuracy = np.mean(np.array(answer["predictions"]) == np.array(labels))
    assert abs(correct / len(rows) - accuracy) < 0.03


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prediction": 1, "label": 1, "score": 1.5}, "not in [0, 1]"),
        ({"prediction": 1, "label": 1, "score": "high"}, "expected a number"),
        ({"prediction": 1, "label": 1, "score": True}, "expected a number"),
    ],
)
def test_feedback_refuses_bad_scores(client: TestClient, record: dict[str, object],
                                     message: str) -> None:  # fmt: skip
    response = client.post("/feedback", json={"records": [record]})
    assert response.status_code == 422
    assert message in response.json()["message"]


def test_profiles_without_calibration_still_load(tmp_path: Path) -> None:
    from driftloop.drift import Profile

    bundle_dir = train_bundle("churn", tmp_path / "churn", rows=2000)
    profile = load_bundle(bundle_dir).profile
    assert len(profile.calibration) == len(profile.prediction.bins)  # type: ignore[union-attr]
    data = profile.to_dict()
    del data["prediction_calibration"]
    assert Profile.from_dict(data).calibration == ()
