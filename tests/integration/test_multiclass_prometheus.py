"""The tickets model (#19) served for real and scraped by a real Prometheus: the recorded
macro-F1 is scikit-learn's on the fed rows, its label-free estimate is the offline one on
the same rows, the class-share shift is the served shares' largest move, and the text
descriptors' PSI is the engine's; the check reads them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.metrics import f1_score
from tests.integration.test_server_prometheus import query, wait_until
from tests.support.bundles import train_bundle
from tests.support.processes import model_server, prometheus

from driftloop.adapters.prometheus import PrometheusSource
from driftloop.drift import stats
from driftloop.drift.class_quality import calibrate, expected_counts, f1_macro_of_counts
from driftloop.generate.rules import RuleSettings, build_groups
from driftloop.synthetic import scenarios
from driftloop.train.bundle import load_bundle
from driftloop.train.data import prepare_features

pytestmark = pytest.mark.integration
FEATURES = ["message", "channel", "plan"]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bundle("tickets", tmp_path_factory.mktemp("bundle") / "tickets", rows=6000)


@pytest.fixture
def stack(bundle_dir: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    settings = replace(RuleSettings(), min_samples=100, intervals=(("5m", "1s"),))
    with (
        model_server(bundle_dir, tmp_path / "server.log") as server,
        prometheus(tmp_path, [server], build_groups(settings)) as prom,
    ):
        yield server, prom


def test_recorded_macro_f1_share_shift_and_text_psi_equal_the_rows(
    stack: tuple[str, str], bundle_dir: Path
) -> None:
    server, prom = stack
    bundle = load_bundle(bundle_dir)
    # every series exists (zeros) and has been scraped before any row is sent, so each
    # counter's increase() is extrapolated by the same factor: ratios come out exact
    wait_until(lambda: len(query(prom, "driftloop_feedback_confusion_total")) == 9)
    stream = scenarios.stream("tickets", "persistent", hours=16)
    frame = stream[stream["event_time"] >= stream["event_time"].max() - np.timedelta64(2, "h")]
    frame = frame.head(1500)
    served, labels = [], frame["sentiment"].tolist()
    with httpx.Client(timeout=10.0) as client:
        for start in range(0, len(frame), 250):
            part = frame.iloc[start : start + 250]
            rows = part[FEATURES].to_dict(orient="records")
            answer = client.post(f"{server}/invocations", json={"dataframe_records": rows})
            answer.raise_for_status()
            predictions = answer.json()["predictions"]
            records = [
                {"prediction": p, "label": y}
                for p, y in zip(predictions, part["sentiment"], strict=True)
            ]
            client.post(f"{server}/feedback", json={"records": records}).raise_for_status()
            served += predictions

    def settled() -> bool:
        """Every labelled row scraped, and the rules evaluated after that scrape (a loaded
        host can run them late: an earlier evaluation saw only part of the rows)."""
        total = query(prom, "sum(driftloop_feedback_confusion_total)")
        if not total or float(total[0]["value"][1]) != len(frame):
            return False
        scraped = query(prom, "max(timestamp(driftloop_feedback_confusion_total))")
        times = [
            query(prom, f"min(timestamp({name}:5m))")
            for name in ("driftloop:model_f1_macro", "driftloop:prediction_share_shift",
                         "driftloop:model_estimated_f1_macro")
        ]  # fmt: skip
        return all(times) and min(float(t[0]["value"][1]) for t in times) > float(
            scraped[0]["value"][1]
        )

    wait_until(settled, timeout=120.0)
    at = datetime.now(UTC)
    macro = float(query(prom, "driftloop:model_f1_macro:5m", at.timestamp())[0]["value"][1])
    assert macro == pytest.approx(f1_score(labels, served, average="macro"), abs=1e-6)
    per_class = {
        s["metric"]["class"]: float(s["value"][1])
        for s in query(prom, "driftloop:model_class_f1:5m", at.timestamp())
    }
    expected = f1_score(labels, served, average=None, labels=sorted(per_class))
    assert list(per_class.values()) == pytest.approx(list(expected), abs=1e-6)

    # the label-free estimate is driftloop.drift.class_quality's on the same rows' scores
    _, probabilities = bundle.outputs(prepare_features(frame, bundle.spec))
    table = np.array([bundle.profile.class_calibration[str(c)] for c in bundle.pipeline.classes_])
    winners = np.argmax(probabilities, axis=1)
    hits, rows = expected_counts(calibrate(probabilities, table), winners)
    offline = f1_macro_of_counts(hits, rows, np.bincount(winners, minlength=len(table)))
    estimate = query(prom, "driftloop:model_estimated_f1_macro:5m", at.timestamp())
    assert float(estimate[0]["value"][1]) == pytest.approx(offline, abs=1e-6)

    prediction = bundle.profile.prediction
    assert prediction is not None
    shares = {c: served.count(c) / len(served) for c in prediction.categories}
    reference = dict(zip(prediction.bins, prediction.ratios, strict=True))
    largest = max(abs(shares[c] - reference[c]) for c in prediction.categories)
    shift = float(query(prom, "driftloop:prediction_share_shift:5m", at.timestamp())[0]["value"][1])
    assert shift == pytest.approx(largest, abs=1e-6)

    # the descriptors are features: their recorded PSI is the engine's on the same rows
    oov = bundle.profile.features["message.oov_share"]
    counts = oov.bin_counts(bundle.profile.with_descriptors(frame)["message.oov_share"])
    recorded = query(prom, 'driftloop:feature_psi:5m{feature="message.oov_share"}', at.timestamp())
    assert float(recorded[0]["value"][1]) == pytest.approx(
        stats.psi(np.asarray(oov.counts), counts).score, abs=1e-6
    )
    assert float(recorded[0]["value"][1]) > 0.25  # new words: critical drift

    # the check reads macro-F1 and the share shift in its quality query
    with PrometheusSource(prom) as source:
        points = source.quality(["tickets"], "5m", at, at, timedelta(seconds=60))["tickets"]
    signals = next(iter(points.values()))
    assert signals["f1_macro"].value == pytest.approx(macro, abs=1e-9)
    # increase() extrapolates counts (not their ratios) towards the window's end
    assert signals["f1_macro"].rows >= len(frame)
    assert signals["prediction_share_shift"].value == pytest.approx(shift, abs=1e-9)
    assert signals["reference_f1_macro"].value == pytest.approx(bundle.metrics["f1_macro"])
    assert signals["estimated_f1_macro"].value == pytest.approx(offline, abs=1e-6)
