"""estimator.search in model.yaml: ranges checked before any data is read; a seeded study
is repeatable; time-ordered validation never scores a trial on the held-out slice."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftloop.config import load_model
from driftloop.config.base import parse_document
from driftloop.config.model import ModelSpec, SearchSpec
from driftloop.data.frames import read_frame
from driftloop.errors import ConfigError
from driftloop.train.search import search, with_params

ROOT = Path(__file__).resolve().parents[2]


def _spec(search_block: dict[str, object]) -> ModelSpec:
    data = load_model("churn", ROOT / "models").model_dump(by_alias=True, exclude_none=True,
                                                            mode="json")  # fmt: skip
    data["estimator"]["params"] = {"max_iter": 20, "random_state": 0}
    data["estimator"]["search"] = search_block
    return parse_document(ModelSpec, data, "model.yaml")


@pytest.mark.parametrize(
    ("params", "key"),
    [({"max_iter": {"low": 10.5, "high": 20, "integer": True}}, "max_iter.low"),
     ({"max_iter": {"low": 10, "high": 20, "choices": [1]}}, "max_iter.choices"),
     ({"max_iter": {"low": 10}}, "max_iter.high"),
     ({"max_iter": {"low": 30, "high": 20}}, "max_iter.low")],
)  # fmt: skip
def test_bad_ranges_name_their_key(params: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        _spec({"params": params})
    assert f"estimator.search.params.{key}" in str(error.value)


def test_n_trials_must_be_positive() -> None:
    with pytest.raises(ConfigError, match=r"estimator\.search\.n_trials"):
        _spec({"params": {"max_iter": {"low": 1, "high": 2}}, "n_trials": 0})


def test_a_seeded_search_is_repeatable_and_overrides_only_what_it_searched(
    tmp_path: Path,
) -> None:
    spec = _spec({"params": {"learning_rate": {"low": 0.05, "high": 0.3, "log": True},
                             "max_leaf_nodes": {"choices": [8, 16, 31]}},
                  "n_trials": 4, "seed": 3})  # fmt: skip
    frame = read_frame("demo://churn/reference?rows=2000")
    first = search(spec, frame, ROOT / "models/churn")
    again = search(spec, frame, ROOT / "models/churn")
    assert first.best_params == again.best_params
    assert first.best_value == again.best_value
    assert [t["params"] for t in first.trials] == [t["params"] for t in again.trials]
    assert sum(t["state"] == "COMPLETE" for t in first.trials) == 4
    tuned = with_params(spec, first.best_params)
    assert tuned.estimator is not None
    assert tuned.estimator.params["max_iter"] == 20  # fixed, not searched
    assert tuned.estimator.params["max_leaf_nodes"] in (8, 16, 31)
    assert isinstance(SearchSpec.model_validate({"params": {"a": {"choices": [1]}}}), SearchSpec)


def test_a_study_storage_without_its_driver_or_unreachable_names_it_without_the_password(
    tmp_path: Path,
) -> None:
    from driftloop.errors import UpstreamError, UsageError

    spec = _spec({"params": {"learning_rate": {"low": 0.05, "high": 0.3}}, "n_trials": 1})
    frame = read_frame("demo://churn/reference?rows=500")
    folder = ROOT / "models/churn"
    with pytest.raises(UsageError, match="not a database URL"):
        search(spec, frame, folder, storage_url="notaurl")
    with pytest.raises(UsageError, match="no postgresql driver") as missing:
        search(spec, frame, folder, storage_url="postgresql://u:s3cret@127.0.0.1:9/x")
    assert "s3cret" not in str(missing.value)
    with pytest.raises(UpstreamError, match="study storage"):
        search(spec, frame, folder, storage_url=f"sqlite:///{tmp_path}/missing/dir/s.db")
