"""Bad input gets a clear error naming the problem, and exit 2: never "no data", never a new
directory, never a traceback (issue #16's list, one test per row)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from driftloop.cli.main import main

DEAD = "http://127.0.0.1:9"  # nothing listens: reaching it is exit 3, so parsing succeeded


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["backtest", "--prometheus", DEAD, "--model", "churn", "--start", "-90d"],
        ["backtest", "--prometheus", DEAD, "--model", "churn", "--start", "-2d", "--end", "-1h"],
        ["check", "--prometheus", DEAD, "--model", "churn", "--dispatch", "none", "--at", "-6h"],
    ],
)
def test_times_before_now_parse(
    argv: list[str], capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    code, err = run(capsys, *argv)
    assert code == 3, err  # got as far as Prometheus
    assert "expected one argument" not in err


@pytest.mark.parametrize("command", ["check", "backtest"])
def test_an_unknown_model_is_an_error_not_no_data(
    command: str, capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    extra = ["--start", "-1d"] if command == "backtest" else ["--dispatch", "none"]
    code, err = run(capsys, command, "--prometheus", DEAD, "--model", "nosuch", *extra)
    assert code == 2
    assert "unknown model(s) nosuch" in err
    assert "churn" in err  # the models there are


def test_a_missing_repository_is_an_error_not_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    missing = tmp_path / "nonexistent"
    code, err = run(capsys, "trigger", "--model", "churn", "--reason", "x",
                    "--dispatch", "local", "--repo", str(missing))  # fmt: skip
    assert code == 2
    assert "is not a git repository" in err
    assert not missing.exists()
    code, err = run(capsys, "pulls", "list", "--repo", str(missing))
    assert (code, "is not a git repository" in err) == (2, True)


def test_a_missing_pull_request_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for action in ("show", "approve", "merge"):
        code, err = run(capsys, "pulls", action, "7", "--repo", str(tmp_path))
        assert code == 2
        assert "no pull request #7" in err


def test_drift_against_a_file_with_no_feature_in_common_is_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = tmp_path / "ref.csv"
    pd.DataFrame({"age": range(200), "plan": ["a", "b"] * 100}).to_csv(reference, index=False)
    wrong = tmp_path / "orders.csv"
    pd.DataFrame({"order_id": range(200), "amount": [1.5] * 200}).to_csv(wrong, index=False)
    code, err = run(capsys, "drift", "--reference", str(reference), "--current", str(wrong))
    assert code == 2
    assert "none of the profiled feature columns (expected age, plan" in err
    partial = tmp_path / "partial.csv"
    pd.DataFrame({"age": range(200)}).to_csv(partial, index=False)
    code, _ = run(capsys, "drift", "--reference", str(reference), "--current", str(partial))
    assert code == 1  # a feature missing from otherwise fitting data is schema drift


def test_an_all_missing_or_constant_reference_feature_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = 400
    reference = tmp_path / "ref.parquet"
    pd.DataFrame({
        "age": [float(i % 70) for i in range(rows)],
        "empty": [float("nan")] * rows,
        "flat": [3.0] * rows,
        "plan": ["basic"] * rows,
    }).to_parquet(reference)  # fmt: skip
    current = tmp_path / "cur.parquet"
    pd.DataFrame({
        "age": [float(i % 70) for i in range(rows)],
        "empty": [1.0] * rows,
        "flat": [9.0] * rows,
        "plan": ["premium"] * rows,
    }).to_parquet(current)  # fmt: skip
    capsys.readouterr()
    assert main(["profile", "--data", str(reference), "--out", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "warning: empty: no value in the reference (all missing)" in out
    assert "warning: flat: constant in the reference" in out
    assert "warning: plan: constant in the reference" in out
    assert "warning: age" not in out
    saved = json.loads((tmp_path / "p.json").read_text())["features"]
    assert "all missing" in saved["empty"]["warning"]
    assert "warning" not in saved["age"]

    main(["drift", "--reference", str(reference), "--current", str(current), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert set(report["warnings"]) == {"empty", "flat", "plan"}
    assert report["features"]["flat"]["warning"] == report["warnings"]["flat"]
    main(["drift", "--reference", str(reference), "--current", str(current)])
    assert "warning: flat: constant in the reference" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "backtest"])
def test_a_quality_metric_the_model_cannot_record_is_named(
    command: str, capsys: pytest.CaptureFixture[str], repo_cwd: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "drift.yaml"
    policy.write_text(
        "apiVersion: driftloop/v1\nkind: DriftPolicy\nmodels:\n  taxi:\n    performance:\n"
        "      thresholds: {roc_auc: {warn: 0.8, critical: 0.75}}\n"
    )
    extra = ["--start", "-1d"] if command == "backtest" else ["--dispatch", "none"]
    code, err = run(capsys, command, "--prometheus", DEAD, "--policy", str(policy), *extra)
    assert code == 2, err
    assert "models.taxi.performance.thresholds.roc_auc" in err
    assert "taxi is a regression model, for which feedback records mae, rmse" in err
