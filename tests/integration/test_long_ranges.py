"""#23.9: the README's `backtest --start -90d` against a stock Prometheus, whose range queries
stop at 11,000 points per series (90 days at 5 minutes is 25,920): the source splits long
ranges into chunks and joins them, on a real Prometheus with 40 days of backfilled points."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.history import Series, backfill
from tests.support.processes import prometheus

from driftloop.adapters.prometheus import MAX_POINTS, PrometheusSource

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
START = END - timedelta(days=40)
STEP = timedelta(minutes=5)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("long")
    count = int((END - START) / STEP) + 1
    points = [(int((START + i * STEP).timestamp()), float(i)) for i in range(count)]
    backfill([Series("driftloop_test_counter", {"model": "churn"}, points)], work / "tsdb")
    with prometheus(work, [], [], tsdb=work / "tsdb") as found:
        yield found


def test_a_range_longer_than_prometheus_allows_comes_back_whole_and_in_order(url: str) -> None:
    with PrometheusSource(url, timeout=60) as source:
        (series,) = source._range("driftloop_test_counter", START, END, STEP)
        assert source.queries == 2  # 11,521 points: two chunks of at most MAX_POINTS
    values = [float(v) for _, v in series["values"]]
    assert len(values) == int((END - START) / STEP) + 1 > MAX_POINTS
    assert values == [float(i) for i in range(len(values))]  # no gap, no overlap


@pytest.mark.parametrize("start", ["-90d", "-365d"])
def test_the_readmes_backtest_runs_against_a_stock_prometheus(url: str, start: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "backtest", "--prometheus", url,
         "--start", start, "--models", str(ROOT / "models"), "--policy",
         str(ROOT / "policies/drift.yaml"), "--json"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "11,000" not in result.stderr
    assert "maximum resolution" not in result.stderr
