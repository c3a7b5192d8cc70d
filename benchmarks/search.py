"""Hyper-parameter search (issue #22): does a second worker pay, and does the search beat
model.yaml's own parameters?

On churn's ``persistent`` data (the retrain a drift triggers), a 30-trial TPE study over
the gradient-boosting knobs, run with one worker and then two sharing one SQLite study
(timed end to end, the same ``n_trials``). Then the final model is fitted with the best
trial's parameters and with model.yaml's, and both are scored on the held-out evaluation
split (the newest 20%, never seen by any trial) and on the golden set.
``python benchmarks/search.py [--trials 30]``; goal: two workers <= 0.6x one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from driftloop.config import load_model
from driftloop.config.model import SearchSpec
from driftloop.data.frames import read_frame
from driftloop.gates.metrics import metric_value
from driftloop.train.assess import evaluate_bundle
from driftloop.train.bundle import ModelBundle
from driftloop.train.data import time_split
from driftloop.train.fit import fit_model
from driftloop.train.search import search, with_params

RANGES = {
    "learning_rate": {"low": 0.02, "high": 0.3, "log": True},
    "max_leaf_nodes": {"low": 8, "high": 64, "integer": True},
    "min_samples_leaf": {"low": 5, "high": 100, "integer": True},
    "l2_regularization": {"low": 1e-4, "high": 1.0, "log": True},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    base = load_model("churn", root / "models")
    plan = SearchSpec.model_validate({"params": RANGES, "n_trials": args.trials, "seed": 0})
    estimator = base.estimator
    if estimator is None:
        raise SystemExit("churn has no estimator")
    spec = base.model_copy(update={"estimator": estimator.model_copy(update={"search": plan})})
    frame = read_frame("demo://churn/persistent")
    golden = read_frame("demo://churn/persistent/golden")
    timings, results = {}, {}
    for workers in (1, 2):
        started = time.perf_counter()
        results[workers] = search(spec, frame, root / "models/churn", workers)
        timings[workers] = time.perf_counter() - started
    print("| workers | trials complete | seconds | best validation roc_auc |")
    print("|---|---|---|---|")
    for workers, result in results.items():
        complete = sum(t["state"] == "COMPLETE" for t in result.trials)
        print(f"| {workers} | {complete} | {timings[workers]:.1f} | {result.best_value:.4f} |")
    print(f"\ntwo workers / one: {timings[2] / timings[1]:.2f}x (goal <= 0.6x)\n")

    best = results[1]
    _, recent = time_split(frame, spec, 0.2)
    print("| parameters | validation roc_auc | evaluation roc_auc | golden roc_auc |")
    print("|---|---|---|---|")
    for label, params, validation in (
        ("model.yaml", {}, best.baseline_value),
        (f"best of {args.trials} ({best.best_params})", best.best_params, best.best_value),
    ):
        fitted = fit_model(with_params(base, params), frame)
        bundle = ModelBundle(base, fitted.pipeline, fitted.profile, "bench", fitted.metrics)
        scores = [evaluate_bundle(bundle, data, name) for name, data in
                  (("recent", recent), ("golden", golden))]  # fmt: skip
        auc = [metric_value("roc_auc", e.y_true, e.y_pred, e.score) for e in scores]
        print(f"| {label} | {validation:.4f} | {auc[0]:.4f} | {auc[1]:.4f} |")


if __name__ == "__main__":
    main()
