"""The model server with a text feature and three classes (tickets, #19): descriptors
counted as features, bad text refused and not counted, feedback as a confusion matrix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score
from starlette.testclient import TestClient
from tests.support.bundles import train_bundle
from tests.unit.test_server import bin_total, samples

from driftloop.drift.text import descriptor_columns
from driftloop.serve.app import Settings, create_app
from driftloop.synthetic import scenarios
from driftloop.train.bundle import load_bundle

ROW = {"message": "my novaphone is bricked again", "channel": "chat", "plan": "pro"}


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle("tickets", tmp_path_factory.mktemp("bundle") / "tickets", rows=3000)


@pytest.fixture
def client(bundle_dir: Path) -> Iterator[TestClient]:
    app = create_app(load_bundle(bundle_dir), Settings(max_rows=500, max_body_bytes=5 * 2**20))
    with TestClient(app) as test_client:
        yield test_client


def test_text_is_counted_as_its_descriptors_in_the_reference_bins(
    client: TestClient, bundle_dir: Path
) -> None:
    profile = load_bundle(bundle_dir).profile
    rows = scenarios.stream("tickets", "persistent", hours=14).tail(200)
    records = rows[["message", "channel", "plan"]].to_dict("records")
    response = client.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 200, response.text
    assert set(response.json()["predictions"]) <= {"negative", "neutral", "positive"}
    # the server's counts are the profile's bins of the same descriptors computed offline
    expected = descriptor_columns("message", rows["message"], profile.known_words["message"])
    counted = samples(client, "driftloop_feature_bin_total")
    for name, values in expected.items():
        feature = profile.features[name]
        want = np.bincount(feature.index_of_prepared(values), minlength=len(feature.bins))
        got = [
            counted[(("bin", b), ("feature", name), ("model", "tickets"), ("version", "1"))]
            for b in feature.bins
        ]
        assert got == list(map(float, want)), name
    assert "message" not in {dict(k)["feature"] for k in counted}  # no bin per message


@pytest.mark.parametrize(
    ("value", "status", "phrase"),
    [
        (42, 422, "field 'message': expected text (a string), got '42'"),
        (None, 422, "field 'message': expected text (a string), got 'None'"),
        (["a"], 422, "expected text"),
        ("x" * 2**20, 413, "field 'message': 1048576 characters; at most 20000"),
    ],
)
def test_bad_text_gets_a_4xx_and_nothing_is_counted(
    client: TestClient, value: object, status: int, phrase: str
) -> None:
    body = {"dataframe_records": [ROW, {**ROW, "message": value}]}
    response = client.post("/invocations", json=body)
    assert response.status_code == status, response.text
    assert phrase in response.json()["message"]
    assert bin_total(client, "message.length") == 0
    assert bin_total(client, "channel") == 0


def test_multiclass_feedback_is_a_confusion_matrix_whose_f1_is_scikit_learns(
    client: TestClient,
) -> None:
    rows = scenarios.stream("tickets", "concept", hours=16).tail(300)
    records = rows[["message", "channel", "plan"]].to_dict("records")
    predicted = client.post("/invocations", json={"dataframe_records": records}).json()
    labels = rows["sentiment"].tolist()
    feedback = [
        {"prediction": p, "label": y} for p, y in zip(predicted["predictions"], labels, strict=True)
    ]
    assert client.post("/feedback", json={"records": feedback}).status_code == 200
    matrix = {
        (dict(k)["actual"], dict(k)["predicted"]): v
        for k, v in samples(client, "driftloop_feedback_confusion_total").items()
    }
    assert len(matrix) == 9
    assert sum(matrix.values()) == 300
    # macro-F1 from the counters, as the recording rules compute it
    f1 = []
    for c in ("negative", "neutral", "positive"):
        hits = matrix[(c, c)]
        union = sum(v for (a, p), v in matrix.items() if c in (a, p))
        f1.append(2 * hits / (hits + union))
    expected = f1_score(labels, predicted["predictions"], average="macro")
    assert np.mean(f1) == pytest.approx(expected, abs=1e-12)


def test_a_class_the_model_never_saw_is_refused_and_counted_nowhere(client: TestClient) -> None:
    records = [
        {"prediction": "negative", "label": "negative"},
        {"prediction": "negative", "label": "furious"},
    ]
    response = client.post("/feedback", json={"records": records})
    assert response.status_code == 422
    assert "'furious' is not one of the model's classes" in response.json()["message"]
    assert sum(samples(client, "driftloop_feedback_confusion_total").values()) == 0
    assert sum(samples(client, "driftloop_feedback_total").values()) == 0
