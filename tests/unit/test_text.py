"""Text features (#19): descriptors, the reference vocabulary, type inference, and the
tickets model (seed 001's NLPInsight) trained from its spec on its scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from driftloop.config import load_model
from driftloop.drift import DriftOptions, Profile, build_profile, compare, profile_frame, text
from driftloop.drift.columns import infer_types
from driftloop.drift.text import descriptor_columns, tokens, vocabulary
from driftloop.errors import ConfigError, DataError
from driftloop.synthetic import scenarios
from driftloop.train.data import prepare_features, validate
from driftloop.train.fit import fit_model
from driftloop.train.pipeline import build_pipeline

ROOT = Path(__file__).resolve().parents[2]
POST = pd.Timestamp(scenarios.STREAM_START) + pd.Timedelta(hours=scenarios.ONSET_HOURS + 2)


def test_descriptors_count_tokens_and_words_outside_the_vocabulary() -> None:
    assert tokens("My NovaPhone is BRICKED, again!") == [
        "my",
        "novaphone",
        "is",
        "bricked",
        "again",
    ]
    texts = ["my app is broken", "novaphone bricked", "", None, float("nan")]
    found = descriptor_columns("message", texts, frozenset({"my", "app", "is", "broken"}))
    np.testing.assert_array_equal(found["message.length"][:3], [4.0, 2.0, 0.0])
    np.testing.assert_array_equal(found["message.oov_share"][:2], [0.0, 1.0])
    # no words: no share; missing text: missing in both
    assert np.isnan(found["message.oov_share"][2:]).all()
    assert np.isnan(found["message.length"][3:]).all()


def test_the_vocabulary_keeps_repeated_words_most_frequent_first_and_is_bounded() -> None:
    texts = ["b a a", "c a b", "order 123456", None]
    assert vocabulary(texts) == ("a", "b")  # c, order and 123456 are seen once
    many = [" ".join(f"w{i}" for i in range(50))] * 2
    assert len(vocabulary(many, size=10)) == 10


def test_free_text_is_inferred_as_text_and_codes_as_categorical() -> None:
    reference = scenarios.reference("tickets", 3000)
    assert infer_types(reference.drop(columns="event_time")) == {
        "message": "text", "channel": "categorical", "plan": "categorical",
        "sentiment": "categorical",
    }  # fmt: skip
    # parquet text read as pandas categories (driftloop drift reads it so) is judged the same
    assert infer_types(reference[["message"]].astype("category")) == {"message": "text"}
    codes = pd.DataFrame({"sku": [f"sku-{i}" for i in range(3000)]})  # unique, one word
    assert infer_types(codes) == {"sku": "categorical"}


def test_a_profile_keeps_its_vocabulary_and_reads_the_text_column(tmp_path: Path) -> None:
    reference = scenarios.reference("tickets", 3000)
    profile = build_profile(reference, {"message": "text", "channel": "categorical"})
    assert list(profile.features) == ["message.length", "message.oov_share", "channel"]
    assert profile.column_types == {"channel": "categorical", "message": "text"}
    assert "novaphone" not in profile.vocabularies["message"]
    profile.save(tmp_path / "p.json")
    loaded = Profile.load(tmp_path / "p.json")
    assert loaded.vocabularies == profile.vocabularies
    (tmp_path / "bad.json").write_text(
        (tmp_path / "p.json").read_text().replace('"vocabulary": [', '"vocabulary": [7, ')
    )
    with pytest.raises(DataError, match=r"text.message.vocabulary must be a list of words"):
        Profile.load(tmp_path / "bad.json")
    # a vocabulary beyond the bound, or for a feature the profile has no descriptors of
    data = profile.to_dict()
    for block, phrase in (
        ({"message": {"vocabulary": [f"w{i}" for i in range(5001)]}},
         "text.message.vocabulary: 5001 words; at most 5000"),
        ({"body": {"vocabulary": ["a"]}}, "text.body: no such text feature"),
    ):  # fmt: skip
        with pytest.raises(DataError, match=phrase):
            Profile.from_dict(data | {"text": block})


@pytest.mark.parametrize(("scenario", "drifted"), [("none", False), ("persistent", True)])
def test_new_words_drift_the_out_of_vocabulary_share(scenario: str, drifted: bool) -> None:
    reference = scenarios.reference("tickets", 5000)
    profile = build_profile(reference, {"message": "text"})
    stream = scenarios.stream("tickets", scenario, hours=20)
    report = compare(None, stream[stream["event_time"] >= POST], profile, DriftOptions())
    assert report.features["message.oov_share"].drifted is drifted


def test_text_columns_refuse_numbers_and_native_estimators() -> None:
    spec = load_model("tickets", ROOT / "models")
    frame = scenarios.reference("tickets", 400)
    frame["message"] = frame["message"].astype(object)
    frame.loc[3, "message"] = 42
    with pytest.raises(DataError, match=r"column 'message': text expected, found 42"):
        validate(frame, spec)
    native = spec.model_copy(
        update={"estimator": spec.estimator.model_copy(  # type: ignore[union-attr]
            update={"class_": "sklearn.ensemble.HistGradientBoostingClassifier"})}
    )  # fmt: skip
    with pytest.raises(ConfigError, match="takes no text"):
        build_pipeline(native, ROOT / "models/tickets")


def test_glitch_labels_of_a_multiclass_model_name_another_class() -> None:
    glitched = scenarios.stream("tickets", "glitch", hours=21)
    hours = (glitched["event_time"] - pd.Timestamp(scenarios.STREAM_START)).dt.total_seconds()
    inside = (hours >= 20 * 3600) & (hours < 20 * 3600 + 1200)
    # each label moved to the next class: neutral (~46%) now reads positive
    assert glitched.loc[inside, "sentiment"].eq("positive").mean() > 0.4
    assert glitched.loc[~inside, "sentiment"].eq("positive").mean() < 0.33
    assert set(glitched["sentiment"]) == {"negative", "neutral", "positive"}


@pytest.mark.slow
def test_tickets_reaches_macro_f1_near_0_9_and_persistent_really_hurts_it() -> None:
    spec = load_model("tickets", ROOT / "models")
    fitted = fit_model(spec, scenarios.reference("tickets"), ROOT / "models/tickets")
    assert 0.85 <= fitted.metrics["f1_macro"] <= 0.97
    assert fitted.profile.prediction is not None
    assert set(fitted.profile.prediction.categories) == {"negative", "neutral", "positive"}

    def macro_f1(frame: pd.DataFrame) -> float:
        predicted = fitted.pipeline.predict(prepare_features(frame, spec))
        return float(f1_score(frame["sentiment"], predicted, average="macro"))

    for scenario, worse_by in (("none", -0.02), ("persistent", 0.15), ("concept", 0.05)):
        stream = scenarios.stream("tickets", scenario, hours=24)
        score = macro_f1(stream[stream["event_time"] >= POST])
        assert score < fitted.metrics["f1_macro"] - worse_by, (scenario, score)
    # and retraining on the new world recovers on the golden set
    golden = scenarios.golden("tickets", "persistent")
    stream = scenarios.stream("tickets", "persistent", hours=36)
    retrained = fit_model(spec, stream[stream["event_time"] >= POST], ROOT / "models/tickets")
    before = macro_f1(golden)
    after = f1_score(
        golden["sentiment"],
        retrained.pipeline.predict(prepare_features(golden, spec)),
        average="macro",
    )
    assert after > before + 0.15, (before, after)


@pytest.mark.parametrize(
    ("scenario", "drifted"), [("none", False), ("persistent", True), ("concept", False)]
)
def test_the_domain_classifier_agrees_with_evidentlys_text_drift(
    scenario: str, drifted: bool
) -> None:
    from evidently.legacy.utils.data_drift_utils import calculate_text_drift_score

    reference = scenarios.reference("tickets", 4000)
    stream = scenarios.stream("tickets", scenario, hours=18)
    current = stream[stream["event_time"] >= POST].head(3000)
    profile = build_profile(reference, {"message": "text", "channel": "categorical"})
    report = compare(reference, current, profile, DriftOptions())
    ours = report.features["message"]
    # Evidently's DataDriftPreset on a text column with > 1,000 reference rows: this call
    _, theirs = calculate_text_drift_score(reference["message"], current["message"], False)
    assert ours.type == "text"
    assert ours.drifted is bool(theirs) is drifted
    test = ours.tests["domain_classifier"]
    assert (test.score > 0.8) if drifted else (abs(test.score - 0.5) < 0.03)
    shown = report.to_dict()["features"]
    assert shown["message"]["tests"]["domain_classifier"]["threshold"] == 0.55
    assert "psi" in shown["message.oov_share"]["tests"]  # both views in --json


def test_with_a_profile_alone_the_text_is_judged_by_its_descriptors_only() -> None:
    reference = scenarios.reference("tickets", 2000)
    profile = build_profile(reference, {"message": "text"})
    report = compare(None, scenarios.stream("tickets", "none", hours=2), profile, DriftOptions())
    assert report.features["message"].status == "insufficient_data"
    assert "needs the reference texts" in report.features["message"].skipped["domain_classifier"]
    assert report.features["message.length"].status == "no_drift"


def test_the_reference_is_tokenised_once_for_a_drift_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``profile_frame`` hands back the reference with its descriptors (equal to computing
    them again), and ``compare`` reuses them: only the current side is tokenised."""
    reference = scenarios.reference("tickets", 2000)
    current = scenarios.stream("tickets", "persistent", hours=14).tail(1500)
    profile, described = profile_frame(reference, {"message": "text"})
    again = profile.with_descriptors(reference)
    for name in ("message.length", "message.oov_share"):
        np.testing.assert_array_equal(described[name], again[name])
    calls: list[int] = []
    original = text.descriptor_columns

    def counted(*args: object) -> dict[str, np.ndarray]:
        calls.append(len(args[1]))  # type: ignore[arg-type]
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(text, "descriptor_columns", counted)
    report = compare(described, current, profile)
    assert calls == [len(current)]
    assert report.features["message.oov_share"].drifted
