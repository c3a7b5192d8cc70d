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

from driftloop.drift.class_quality import calibrate, expected_counts, f1_macro_of_counts
from driftloop.drift.text import descriptor_columns
from driftloop.serve.app import Settings, create_app
from driftloop.synthetic import scenarios
from driftloop.train.bundle import load_bundle
from driftloop.train.data import prepare_features

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


def test_scored_rows_count_the_label_free_estimate_of_each_class(
    client: TestClient, bundle_dir: Path
) -> None:
    """The expected hits and rows per class, and expected correct rows, equal the offline
    estimate (driftloop.drift.class_quality) on the same rows; the estimated macro-F1 from
    the counters, as the rules compute it, tracks the realised one where nothing changed."""
    bundle = load_bundle(bundle_dir)
    rows = scenarios.stream("tickets", "none", hours=14).tail(400)
    records = rows[["message", "channel", "plan"]].to_dict("records")
    answer = client.post("/invocations", json={"dataframe_records": records}).json()
    _, probabilities = bundle.outputs(prepare_features(rows, bundle.spec))
    classes = [str(c) for c in bundle.pipeline.classes_]
    table = np.array([bundle.profile.class_calibration[c] for c in classes])
    served = np.argmax(probabilities, axis=1)
    hits, expected = expected_counts(calibrate(probabilities, table), served)

    def per_class(name: str) -> list[float]:
        found = {dict(k)["class"]: v for k, v in samples(client, name).items()}
        return [found[c] for c in classes]

    got_hits = per_class("driftloop_prediction_expected_class_hits_total")
    got_rows = per_class("driftloop_prediction_expected_class_rows_total")
    assert got_hits == pytest.approx(hits, abs=1e-9)
    assert got_rows == pytest.approx(expected, abs=1e-9)
    assert sum(got_rows) == pytest.approx(400)  # each row's calibrated probabilities sum to 1
    (correct,) = samples(client, "driftloop_prediction_expected_correct_total").values()
    assert correct == pytest.approx(hits.sum(), abs=1e-9)
    # the served classes are still counted as prediction bins
    bins = {dict(k)["bin"]: v for k, v in samples(client, "driftloop_prediction_bin_total").items()}
    served_counts = [bins[c] for c in classes]
    assert served_counts == list(map(float, np.bincount(served, minlength=3)))
    estimate = f1_macro_of_counts(np.array(got_hits), np.array(got_rows), served_counts)
    realised = f1_score(rows["sentiment"], answer["predictions"], average="macro")
    assert estimate == pytest.approx(realised, abs=0.05)
