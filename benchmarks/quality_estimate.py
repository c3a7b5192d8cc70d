"""How close are the label-free estimates to the realised quality? (issues #15 and #19)

A churn model trained on the reference data scores each scenario's stream. Per chunk of
consecutive rows: realised AUC from the labels (binned as the server bins scores) against the
estimate from the same rows' scores and the reference calibration
(driftloop.drift.binned_quality, the numbers the recording rules compute). Then the same for
the tickets model's macro-F1: realised (scikit-learn) against the multiclass estimate from
class probabilities (driftloop.drift.class_quality). Reports the mean absolute error by
scenario and chunk size. ``python benchmarks/quality_estimate.py``
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from driftloop.config import load_model
from driftloop.drift.binned_quality import binned_auc, expected_positives
from driftloop.drift.class_quality import calibrate, expected_counts, f1_macro_of_counts
from driftloop.synthetic import scenarios
from driftloop.train.data import prepare_features
from driftloop.train.fit import fit_model, model_outputs

SCENARIOS = ("none", "glitch", "covariate", "gradual", "persistent", "concept")
TICKETS_SCENARIOS = ("none", "transient", "covariate", "persistent", "concept")
CHUNKS = (500, 1000, 5000)


def _header() -> None:
    print("| scenario | rows after onset | " + " | ".join(f"chunk {c}" for c in CHUNKS) + " |")
    print("|---|---|" + "---|" * len(CHUNKS))


def _cell(errors: list[float], bias: list[float]) -> str:
    return f"{np.mean(errors):.3f} (bias {np.mean(bias):+.3f}, {len(errors)})"


def _after_onset(model: str, scenario: str) -> pd.DataFrame:
    frame = scenarios.stream(model, scenario, hours=48)
    hours = (frame["event_time"] - scenarios.STREAM_START).dt.total_seconds() / 3600
    return frame[hours.to_numpy() >= scenarios.ONSET_HOURS + 1]


def tickets() -> None:
    """Estimated macro-F1 (calibrated class probabilities, no labels) against realised."""
    spec = load_model("tickets")
    fitted = fit_model(spec, scenarios.reference("tickets"))
    classes = fitted.pipeline.classes_
    table = np.array([fitted.profile.class_calibration[str(c)] for c in classes])
    _header()
    for name in TICKETS_SCENARIOS:
        after = _after_onset("tickets", name)
        _, probabilities = model_outputs(fitted.pipeline, prepare_features(after, spec), spec)
        served = np.argmax(probabilities, axis=1)
        calibrated = calibrate(probabilities, table)
        actual = after[spec.target].astype(str).to_numpy()
        cells = []
        for size in CHUNKS:
            errors, bias = [], []
            for start in range(0, len(after) - size + 1, size):
                rows = slice(start, start + size)
                hits, expected = expected_counts(calibrated[rows], served[rows])
                counts = np.bincount(served[rows], minlength=len(classes))
                estimate = f1_macro_of_counts(hits, expected, counts)
                realised = f1_score(actual[rows], classes[served[rows]], average="macro")
                if estimate is not None:
                    errors.append(abs(estimate - realised))
                    bias.append(estimate - realised)
            cells.append(_cell(errors, bias))
        print(f"| {name} | {len(after)} | " + " | ".join(cells) + " |")


def main() -> None:
    spec = load_model("churn")
    fitted = fit_model(spec, scenarios.reference("churn"))
    prediction = fitted.profile.prediction
    assert prediction is not None
    calibrated = np.asarray(fitted.profile.calibration)
    n = len(prediction.bins)
    _header()
    for name in SCENARIOS:
        after = _after_onset("churn", name)
        _, scores = model_outputs(fitted.pipeline, prepare_features(after, spec), spec)
        bins = prediction.index_of_prepared(np.asarray(scores, dtype=float))
        positive = after[spec.target].to_numpy() == 1
        cells = []
        for size in CHUNKS:
            errors, bias = [], []
            for start in range(0, len(after) - size + 1, size):
                b, y = bins[start : start + size], positive[start : start + size]
                realised = binned_auc(
                    np.bincount(b[~y], minlength=n), np.bincount(b[y], minlength=n)
                )
                counts = np.bincount(b, minlength=n)
                expected = expected_positives(counts, calibrated)
                estimate = binned_auc(counts - expected, expected)
                if realised is not None and estimate is not None:
                    errors.append(abs(estimate - realised))
                    bias.append(estimate - realised)
            cells.append(_cell(errors, bias))
        print(f"| {name} | {len(after)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    print("churn: estimated against realised AUC\n")
    main()
    print("\ntickets: estimated against realised macro-F1\n")
    tickets()
