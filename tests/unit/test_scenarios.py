"""The demo scenarios do what their names promise (later issues' tests rely on them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score

from driftloop.drift import DriftOptions, build_profile, compare
from driftloop.errors import UsageError
from driftloop.synthetic import scenarios

ONSET = pd.Timestamp(scenarios.STREAM_START) + pd.Timedelta(hours=scenarios.ONSET_HOURS)


def hours_since_start(df: pd.DataFrame) -> pd.Series:
    return (df["event_time"] - pd.Timestamp(scenarios.STREAM_START)).dt.total_seconds() / 3600


def test_streams_are_deterministic_and_seed_dependent() -> None:
    a = scenarios.stream("churn", "persistent", hours=3)
    pd.testing.assert_frame_equal(a, scenarios.stream("churn", "persistent", hours=3))
    assert not a.equals(scenarios.stream("churn", "persistent", hours=3, seed=9))
    pd.testing.assert_frame_equal(
        scenarios.reference("taxi", 500), scenarios.reference("taxi", 500)
    )


def test_reference_precedes_stream() -> None:
    ref = scenarios.reference("churn", 1000)
    assert ref["event_time"].max() <= pd.Timestamp(scenarios.STREAM_START)
    stream = scenarios.stream("churn", "none", hours=2)
    assert stream["event_time"].is_monotonic_increasing
    assert len(stream) == 2000


def test_persistent_raises_monthly_charges_about_18_percent_and_stays() -> None:
    df = scenarios.stream("churn", "persistent")
    hours = hours_since_start(df)
    before = df.loc[hours < 12, "monthly_charges"].mean()
    late = df.loc[hours >= 40, "monthly_charges"].mean()
    assert late / before == pytest.approx(1.18, abs=0.02)


def test_transient_returns_after_two_hours() -> None:
    df = scenarios.stream("churn", "transient")
    hours = hours_since_start(df)
    before = df.loc[hours < 12, "monthly_charges"].mean()
    during = df.loc[(hours >= 12) & (hours < 14), "monthly_charges"].mean()
    after = df.loc[hours >= 14, "monthly_charges"].mean()
    assert during / before == pytest.approx(1.18, abs=0.03)
    assert after / before == pytest.approx(1.0, abs=0.02)


def test_gradual_ramps_in() -> None:
    df = scenarios.stream("taxi", "gradual")
    hours = hours_since_start(df)
    means = [
        df.loc[(hours >= h) & (hours < h + 6), "trip_distance"].mean() for h in (0, 18, 30, 42)
    ]
    assert means == sorted(means)
    assert means[-1] / means[0] > 1.2


def test_low_traffic_is_ten_rows_an_hour() -> None:
    assert len(scenarios.stream("churn", "low_traffic", hours=24)) == 240


def test_schema_drops_a_column_and_adds_unseen_categories() -> None:
    df = scenarios.stream("churn", "schema")
    assert "payment_method" not in df.columns
    hours = hours_since_start(df)
    assert (df.loc[hours < 12, "contract"] == "monthly_plus").sum() == 0
    assert (df.loc[hours >= 12, "contract"] == "monthly_plus").mean() == pytest.approx(
        0.3, abs=0.02
    )


def test_concept_changes_labels_not_features() -> None:
    ref = scenarios.reference("churn")
    df = scenarios.stream("churn", "concept")
    spec_types = {
        "tenure_months": "numeric",
        "monthly_charges": "numeric",
        "contract": "categorical",
        "payment_method": "categorical",
        "support_calls": "numeric",
        "senior_citizen": "categorical",
    }
    report = compare(ref, df, build_profile(ref, spec_types), DriftOptions())  # type: ignore[arg-type]
    assert not report.drifted
    late = df[hours_since_start(df) >= 12]
    # support calls now retain customers: churn falls with calls instead of rising
    assert late.groupby(late["support_calls"] >= 3)["churned"].mean().diff().iloc[-1] < 0
    assert ref.groupby(ref["support_calls"] >= 3)["churned"].mean().diff().iloc[-1] > 0


def test_degraded_keeps_segment_base_rates() -> None:
    clean = scenarios.stream("churn", "persistent")
    broken = scenarios.stream("churn", "persistent", degraded=True)
    late = hours_since_start(clean) >= 12
    by_segment = clean[late].groupby("contract")["churned"].mean()
    assert broken[late].groupby("contract")["churned"].mean().to_dict() == pytest.approx(
        by_segment.to_dict()
    )
    assert (broken.loc[~late, "churned"] == clean.loc[~late, "churned"]).all()


def _fit_and_score(model: str, train: pd.DataFrame, test: pd.DataFrame) -> float:
    target = {"churn": "churned", "taxi": "trip_duration_minutes"}[model]
    categorical = {"churn": ["contract", "payment_method"], "taxi": ["pickup_zone"]}[model]

    def features(df: pd.DataFrame) -> pd.DataFrame:
        x = df.drop(columns=["event_time", target])
        for column in categorical:
            x[column] = pd.Categorical(x[column], categories=sorted(train[column].unique()))
        return x

    if model == "churn":
        fitted = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
        fitted.fit(features(train), train[target])
        return float(roc_auc_score(test[target], fitted.predict_proba(features(test))[:, 1]))
    regressor = HistGradientBoostingRegressor(random_state=0, categorical_features="from_dtype")
    regressor.fit(features(train), train[target])
    return float(r2_score(test[target], regressor.predict(features(test))))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["churn", "taxi"])
def test_retraining_on_post_drift_data_beats_the_old_model_unless_degraded(model: str) -> None:
    champion_data = scenarios.reference(model)
    golden = scenarios.golden(model, "persistent")
    champion = _fit_and_score(model, champion_data, golden)
    for scenario, better in (("persistent", True), ("degraded", False)):
        stream = scenarios.stream(model, scenario)
        post = stream[hours_since_start(stream) >= 12]
        candidate = _fit_and_score(model, post, golden)
        if better:
            assert candidate > champion * 1.1, (scenario, candidate, champion)
        else:
            assert candidate < champion * 0.95, (scenario, candidate, champion)


def test_unknown_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown scenario 'weekend'"):
        scenarios.stream("churn", "weekend")
    with pytest.raises(UsageError, match="unknown demo model"):
        scenarios.reference("fraud")


def test_golden_is_clean_final_regime() -> None:
    golden = scenarios.golden("churn", "degraded", rows=3000)
    assert len(golden) == 3000
    assert np.isfinite(golden["monthly_charges"]).all()
    assert (
        golden["monthly_charges"].mean()
        > scenarios.reference("churn", 3000)["monthly_charges"].mean() * 1.1
    )
