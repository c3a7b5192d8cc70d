"""Retraining reads the data it should: a model whose data.train is a template over daily
partitions with a window trains on exactly the latest window up to the retrain (asserted from
the logged row count, window and data digest against the partitions themselves), writes the
drift report the pull request promises, and stops with exit 2 on an empty window or a
schema-drifted partition (no model registered)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.synthetic import scenarios
from driftloop.train.data import data_digest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAYS = 12


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Twelve daily parquet partitions of churn traffic, and a model reading the last 5 days."""
    stream = scenarios.stream("churn", "persistent", hours=24 * DAYS, rows_per_hour=40, seed=3)
    days = pd.to_datetime(stream["event_time"], utc=True).dt.strftime("%Y-%m-%d")
    for day, part in stream.groupby(days):
        folder = tmp_path / f"lake/date={day}"
        folder.mkdir(parents=True)
        part.to_parquet(folder / "part.parquet", index=False)
    model = tmp_path / "models/lakechurn"
    model.mkdir(parents=True)
    text = (ROOT / "models/churn/model.yaml").read_text().replace("name: churn", "name: lakechurn")
    text = text.replace(
        "  train: demo://churn/reference",
        f"  train: {tmp_path}/lake/date={{date}}/part.parquet\n"
        "  window: 5d\n  reference: demo://churn/reference?rows=3000",
    )
    (model / "model.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def retrain(*extra: str) -> int:
    return main(
        ["retrain", "--model", "lakechurn", "--models", "models", "--out", "c.json", *extra]
    )


def test_only_the_window_is_read_and_trained_on(lake: Path) -> None:
    until = scenarios.STREAM_START + timedelta(days=DAYS - 2, hours=12)
    assert retrain("--until", until.isoformat(), "--drift-report", "out/drift.html") == 0
    candidate = json.loads(Path("c.json").read_text())
    start = until - timedelta(days=5)
    # what the window holds, read here from the partitions independently
    expected_days = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(6)]
    frames = [pd.read_parquet(lake / f"lake/date={d}/part.parquet") for d in expected_days]
    everything = pd.concat(frames, ignore_index=True)
    stamps = pd.to_datetime(everything["event_time"], utc=True)
    window = everything[((stamps >= start) & (stamps < until)).to_numpy()].reset_index(drop=True)
    assert candidate["data_rows"] == len(window) > 0
    assert candidate["data_sources"] == 6  # five days and the partial sixth, not all twelve
    assert candidate["data_window"] == {
        "start": start.isoformat(timespec="seconds"),
        "end": until.isoformat(timespec="seconds"),
    }
    assert candidate["data_digest"] == data_digest(window)
    tags = MlflowRegistry.from_environment().version_tags("lakechurn", candidate["version"])
    assert tags["driftloop.data_rows"] == str(len(window))
    assert tags["driftloop.data_digest"] == data_digest(window)
    assert "<html" in Path("out/drift.html").read_text().lower()


def test_an_empty_window_stops_the_retrain(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = datetime(2027, 6, 1, tzinfo=UTC)
    assert retrain("--until", later.isoformat()) == 2
    assert "no data in the training window" in capsys.readouterr().err
    assert not Path("c.json").exists()


def test_a_schema_drifted_partition_stops_the_retrain(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    until = scenarios.STREAM_START + timedelta(days=DAYS - 2, hours=12)
    day = (until - timedelta(days=1)).strftime("%Y-%m-%d")
    path = lake / f"lake/date={day}/part.parquet"
    pd.read_parquet(path).drop(columns=["contract"]).to_parquet(path, index=False)
    assert retrain("--until", until.isoformat()) == 2
    assert "contract" in capsys.readouterr().err
    assert not Path("c.json").exists()
