"""The server as a process: SIGTERM drains (not ready, still serving), then exits cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.bundles import train_bundle
from tests.support.processes import free_port, stop, wait_for

pytestmark = pytest.mark.integration

ROW = {
    "tenure_months": 3, "monthly_charges": 90.5, "contract": "month_to_month",
    "payment_method": "electronic_check", "support_calls": 4, "senior_citizen": 1,
}  # fmt: skip


def test_sigterm_drains_then_exits(tmp_path: Path) -> None:
    bundle = train_bundle("churn", tmp_path / "churn", rows=2000)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "driftloop.cli.main", "serve", "--model-uri", str(bundle),
         "--port", str(port), "--drain-seconds", "2"],
    )  # fmt: skip
    try:
        wait_for(f"{url}/readyz", process)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert httpx.get(f"{url}/readyz").status_code == 503
        scored = httpx.post(f"{url}/invocations", json={"dataframe_records": [ROW]})
        assert scored.status_code == 200  # still serving during the drain delay
        assert process.wait(timeout=15) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz")
    finally:
        stop(process)


def test_bad_model_uri_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "serve", "--model-uri", str(tmp_path / "none")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a directory nor a models:/ URI" in result.stderr
