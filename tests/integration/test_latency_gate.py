"""The latency gate measures the models, not the machine: champion and candidate are timed
interleaved on the same rows and judged on paired ratios, so two processes spinning on both
cores give the same verdict as an idle machine, for equal models (pass) and for a candidate
with ten times the trees (fail)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from driftloop.config import GateSettings, load_model
from driftloop.gates import evaluate_gates
from driftloop.synthetic import scenarios
from driftloop.train.assess import evaluate_bundle, paired_latency
from driftloop.train.bundle import ModelBundle
from driftloop.train.fit import fit_model

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = GateSettings(bootstrap_samples=200, latency_noise_floor_seconds=0.0)


def bundle(trees: int, seed: int) -> ModelBundle:
    spec = load_model("churn", ROOT / "models")
    assert spec.estimator is not None
    params = {**spec.estimator.params, "max_iter": trees, "random_state": seed}
    spec = spec.model_copy(
        update={"estimator": spec.estimator.model_copy(update={"params": params})}
    )
    fitted = fit_model(spec, scenarios.reference("churn", rows=3000, seed=seed))
    return ModelBundle(spec, fitted.pipeline, fitted.profile, str(seed), fitted.metrics)


@contextmanager
def busy_cores() -> Iterator[None]:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)


def verdict(champion: ModelBundle, candidate: ModelBundle) -> tuple[bool, float]:
    frame = scenarios.reference("churn", rows=600, seed=9)
    latency = paired_latency(champion, candidate, frame, rounds=3, requests=150)
    champ = evaluate_bundle(champion, frame, "recent")
    cand = evaluate_bundle(candidate, frame, "recent")
    results = evaluate_gates(
        "binary_classification",
        {"recent": replace(cand, latency_p95=latency.p95[1], latency_ratio=latency.ratio)},
        {"recent": replace(champ, latency_p95=latency.p95[0])},
        SETTINGS,
        1,
    )  # fmt: skip
    gate = next(r for r in results if r.name == "latency_p95_seconds")
    return gate.passed, latency.ratio[0]


def test_same_verdict_idle_and_beside_a_cpu_hog() -> None:
    champion, twin, heavy = bundle(50, 1), bundle(50, 2), bundle(500, 1)
    idle = {"twin": verdict(champion, twin), "heavy": verdict(champion, heavy)}
    with busy_cores():
        loaded = {"twin": verdict(champion, twin), "heavy": verdict(champion, heavy)}
    assert (idle["twin"][0], loaded["twin"][0]) == (True, True), (idle, loaded)
    assert (idle["heavy"][0], loaded["heavy"][0]) == (False, False), (idle, loaded)
    # ten times the trees: well beyond the +20% the gate allows, idle or not
    assert idle["heavy"][1] > 1.5
    assert loaded["heavy"][1] > 1.5
