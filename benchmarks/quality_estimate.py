"""How close is the label-free AUC estimate to the realised AUC? (issue #15)

A churn model trained on the reference data scores each scenario's stream. Per chunk of
consecutive rows: realised AUC from the labels (binned as the server bins scores) against the
estimate from the same rows' scores and the reference calibration
(driftloop.drift.binned_quality, the numbers the recording rules compute). Reports the mean
absolute error by scenario and chunk size. ``python benchmarks/quality_estimate.py``
"""

from __future__ import annotations

import numpy as np

from driftloop.config import load_model
from driftloop.drift.binned_quality import binned_auc, expected_positives
from driftloop.synthetic import scenarios
from driftloop.train.data import prepare_features
from driftloop.train.fit import fit_model, model_outputs

SCENARIOS = ("none", "glitch", "covariate", "gradual", "persistent", "concept")
CHUNKS = (500, 1000, 5000)


def main() -> None:
    spec = load_model("churn")
    fitted = fit_model(spec, scenarios.reference("churn"))
    prediction = fitted.profile.prediction
    assert prediction is not None
    calibrated = np.asarray(fitted.profile.calibration)
    n = len(prediction.bins)
    print("| scenario | rows after onset | " + " | ".join(f"chunk {c}" for c in CHUNKS) + " |")
    print("|---|---|" + "---|" * len(CHUNKS))
    for name in SCENARIOS:
        frame = scenarios.stream("churn", name, hours=48)
        hours = (frame["event_time"] - scenarios.STREAM_START).dt.total_seconds() / 3600
        after = frame[hours.to_numpy() >= scenarios.ONSET_HOURS + 1]
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
            cells.append(f"{np.mean(errors):.3f} (bias {np.mean(bias):+.3f}, {len(errors)})")
        print(f"| {name} | {len(after)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
