"""Training pieces: the train.py hook, fsspec URIs, validation and the time split."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from driftloop.config import load_model
from driftloop.data.frames import read_frame
from driftloop.errors import ConfigError, DataError
from driftloop.synthetic import scenarios
from driftloop.train.data import time_split, validate
from driftloop.train.fit import fit_model

ROOT = Path(__file__).resolve().parents[2]

HOOK = """
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def build_pipeline(spec):
    numeric = [f.name for f in spec.features if f.type == "numeric"]
    categorical = [f.name for f in spec.features if f.type == "categorical"]
    return make_pipeline(
        make_column_transformer((StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), categorical)),
        LogisticRegression(max_iter=500),
    )
"""


def test_train_hook_builds_the_pipeline(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "models/churn", tmp_path / "churn")
    text = (tmp_path / "churn/model.yaml").read_text()
    start = text.index("estimator:")
    end = text.index("profile:")
    (tmp_path / "churn/model.yaml").write_text(text[:start] + "train_hook: train.py\n" + text[end:])
    (tmp_path / "churn/train.py").write_text(HOOK)
    spec = load_model("churn", tmp_path)
    fitted = fit_model(spec, scenarios.reference("churn", rows=3000), tmp_path / "churn")
    assert type(fitted.pipeline[-1]).__name__ == "LogisticRegression"
    assert fitted.metrics["roc_auc"] > 0.6
    (tmp_path / "churn/train.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="defines no build_pipeline"):
        fit_model(spec, scenarios.reference("churn", rows=1000), tmp_path / "churn")


def test_fsspec_uris_are_read() -> None:
    frame = scenarios.reference("taxi", rows=500)
    frame.to_parquet("memory://driftloop-test/taxi.parquet")
    frame.to_csv("memory://driftloop-test/taxi.csv", index=False)
    assert len(read_frame("memory://driftloop-test/taxi.parquet")) == 500
    assert list(read_frame("memory://driftloop-test/taxi.csv").columns) == list(frame.columns)
    with pytest.raises(DataError, match="cannot read as parquet"):
        read_frame("memory://driftloop-test/missing.parquet")


def test_validation_names_the_problem() -> None:
    spec = load_model("churn", ROOT / "models")
    frame = scenarios.reference("churn", rows=1000)
    with pytest.raises(DataError, match="at least 200 are needed"):
        validate(frame.head(50), spec)
    labels = frame.copy()
    labels.loc[:3, "churned"] = None
    with pytest.raises(DataError, match="target 'churned': 4 missing label"):
        validate(labels, spec)
    sparse = frame.copy()
    sparse.loc[: len(sparse) * 0.6, "tenure_months"] = None
    with pytest.raises(DataError, match="column 'tenure_months': 60% missing"):
        validate(sparse, spec)
    one_class = frame.assign(churned=0)
    with pytest.raises(DataError, match="only one class present"):
        validate(one_class, spec)


def test_time_split_keeps_the_newest_rows_for_evaluation() -> None:
    spec = load_model("churn", ROOT / "models")
    frame = scenarios.reference("churn", rows=1000).sample(frac=1.0, random_state=1)
    train, test = time_split(frame, spec)
    assert len(test) == 200
    assert train["event_time"].max() <= test["event_time"].min()
    assert isinstance(test, pd.DataFrame)


SPEC = load_model("churn", ROOT / "models")
TAXI = load_model("taxi", ROOT / "models")


@pytest.mark.parametrize(
    ("spoil", "phrase"),
    [
        (
            lambda f: f.assign(churned=[0, 1, 2] * (len(f) // 3) + [0] * (len(f) % 3)),
            "a binary model needs labels 0/1",
        ),
        (
            lambda f: f.assign(churned=f["churned"].map({0: "no", 1: "yes"})),
            "a binary model needs labels 0/1",
        ),
        (
            lambda f: f.assign(event_time=["not a date", *list(f["event_time"].iloc[1:])]),
            "timestamp column 'event_time': 1 value(s) are not dates",
        ),
        (
            lambda f: f.assign(
                monthly_charges=[float("inf"), 1.0] * (len(f) // 2) + [1.0] * (len(f) % 2)
            ),
            "column 'monthly_charges': 300 infinite value(s)",
        ),
        (lambda f: f.drop(columns=["senior_citizen"]), "missing column(s): senior_citizen"),
    ],
    ids=["three classes", "string labels", "bad timestamp", "half infinite", "no sensitive column"],
)
def test_garbage_is_refused_before_fitting_naming_the_column(spoil, phrase: str) -> None:  # type: ignore[no-untyped-def]
    """#23.5: each of these used to train and register a version."""
    frame = spoil(scenarios.reference("churn", rows=600))
    with pytest.raises(DataError, match=re.escape(phrase)):
        validate(frame, SPEC)


def test_a_sensitive_attribute_that_is_no_column_fails_instead_of_dropping_the_fairness_gates() -> (
    None
):
    spec = SPEC.model_copy(update={"sensitive_attribute": "gender"})
    with pytest.raises(DataError, match="sensitive_attribute 'gender' is not a column"):
        validate(scenarios.reference("churn", rows=600).assign(gender_x=1), spec)


def test_a_regression_target_must_be_finite_and_good_data_passes() -> None:
    frame = scenarios.reference("taxi", rows=600)
    validate(frame, TAXI)
    validate(scenarios.reference("churn", rows=600), SPEC)
    spoiled = frame.assign(**{TAXI.target: [float("inf"), *list(frame[TAXI.target].iloc[1:])]})
    with pytest.raises(DataError, match="finite numbers expected"):
        validate(spoiled, TAXI)
