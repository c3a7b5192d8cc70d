"""The serving fast path gives exactly what the scikit-learn pipeline gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.support.bundles import ROOT, train_bundle

from driftloop.config import load_model
from driftloop.drift.text import tokenise
from driftloop.serve.payload import parse_scoring
from driftloop.synthetic import scenarios
from driftloop.train.bundle import load_bundle
from driftloop.train.data import prepare_features
from driftloop.train.fastpath import compile_fast_path
from driftloop.train.fit import fit_model
from driftloop.train.pipeline import build_pipeline
from driftloop.train.textpath import TextPath, compile_text_path


@pytest.mark.parametrize("model", ["churn", "taxi"])
def test_fast_path_matches_the_pipeline(model: str, tmp_path: Path) -> None:
    bundle = load_bundle(train_bundle(model, tmp_path / model, rows=3000))
    assert bundle.fast_path is not None
    frame = scenarios.stream(model, "schema", hours=20, rows_per_hour=20)  # unseen categories
    frame = frame.reindex(columns=bundle.spec.feature_names)  # the dropped column: all missing
    frame.iloc[::7, 0] = np.nan
    columns = {
        name: prepare_features(frame, bundle.spec)[name].to_numpy()
        for name in bundle.spec.feature_names
    }
    expected = bundle.pipeline[:-1].transform(prepare_features(frame, bundle.spec))
    np.testing.assert_array_equal(bundle.fast_path.matrix(columns), expected)
    fast = bundle.outputs_of_columns(columns)
    slow = bundle.outputs(prepare_features(frame, bundle.spec))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


def test_parsed_columns_equal_prepared_frame(tmp_path: Path) -> None:
    spec = load_model("churn", ROOT / "models")
    rows = scenarios.stream("churn", "schema", hours=14, rows_per_hour=5).reindex(
        columns=spec.feature_names
    )
    rows = rows.astype(object).where(rows.notna(), None)
    body = pd.Series({"dataframe_records": rows.to_dict(orient="records")}).to_json().encode()
    columns = parse_scoring(body, spec, 1000)
    prepared = prepare_features(rows, spec)
    for name in spec.feature_names:
        expected = prepared[name].to_numpy()
        if prepared[name].dtype == object:
            assert list(columns[name]) == list(expected)
        else:
            np.testing.assert_array_equal(columns[name], expected.astype(float))


def test_other_pipelines_have_no_fast_path() -> None:
    spec = load_model("churn", ROOT / "models")
    linear = spec.model_copy(
        update={
            "estimator": spec.estimator.model_copy(
                update={"class_": "sklearn.linear_model.LogisticRegression", "params": {}}
            )
        }  # type: ignore[union-attr]
    )
    data = scenarios.reference("churn", rows=1000)
    fitted = fit_model(linear, data)
    assert compile_fast_path(fitted.pipeline, linear) is None
    assert compile_fast_path(build_pipeline(spec), spec) is None  # not fitted yet


def test_the_text_path_matches_the_tickets_pipeline(tmp_path: Path) -> None:
    """TF-IDF, one-hot and the linear model by hand: the same probabilities and labels, for
    unseen and missing categories, empty and unseen-word messages, parsed as the server
    parses them."""
    bundle = load_bundle(train_bundle("tickets", tmp_path / "tickets", rows=3000))
    assert isinstance(bundle.fast_path, TextPath)
    frame = scenarios.stream("tickets", "schema", hours=16, rows_per_hour=40)  # new channel
    frame = frame.reindex(columns=bundle.spec.feature_names)  # plan dropped: all missing
    frame.iloc[::9, 0] = ""
    frame.iloc[1::9, 0] = "zzz qqq novaphone!!"
    # repeats, capitals, pairs of known words, one-letter words, digits, non-ASCII words
    frame.iloc[2::9, 0] = "Refund REFUND refund please please I I a 42 café—refund Über"
    frame.iloc[3::9, 0] = "the the the order order order"
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    body = pd.Series({"dataframe_records": records}).to_json().encode()
    columns = parse_scoring(body, bundle.spec, 10_000)
    prepared = prepare_features(frame, bundle.spec)
    expected = bundle.pipeline.predict_proba(prepared)
    got = bundle.fast_path.model.predict_proba(bundle.fast_path.matrix(columns))  # type: ignore[attr-defined]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # the text already tokenised (as the server shares it with the descriptors): the same
    shared = bundle.fast_path.matrix(columns, tokenise(columns, ["message"]))  # type: ignore[attr-defined,call-arg]
    assert (shared != bundle.fast_path.matrix(columns)).nnz == 0  # type: ignore[attr-defined]
    fast, slow = bundle.outputs_of_columns(columns), bundle.outputs(prepared)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=0, atol=1e-12)  # every class's probability
    assert compile_text_path(load_bundle(train_bundle("churn", tmp_path / "c", 1000)).pipeline,
                             load_model("churn", ROOT / "models")) is None  # fmt: skip


@pytest.mark.parametrize("classes", [2, 3])
def test_the_linear_model_by_hand_gives_scikit_learns_probabilities(classes: int) -> None:
    """Two classes take the logistic, more the softmax, as LogisticRegression does."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from driftloop.train.textpath import _Linear

    rng = np.random.default_rng(3)
    x = sparse.random(400, 30, density=0.2, random_state=3, format="csr")
    y = rng.integers(0, classes, 400)
    model = LogisticRegression(C=4.0).fit(x, y)
    linear = _Linear(model.coef_, model.intercept_, model.classes_)
    np.testing.assert_allclose(linear.predict_proba(x), model.predict_proba(x), rtol=0, atol=1e-12)
