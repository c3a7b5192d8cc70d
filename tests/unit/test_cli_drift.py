"""`driftloop drift` and `driftloop profile` end to end: files in, exit codes and JSON out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftloop.cli.main import main
from driftloop.synthetic import scenarios


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    ref = scenarios.reference("churn", rows=5000)
    same = scenarios.reference("churn", rows=5000, seed=3)
    shifted = scenarios.stream("churn", "persistent", hours=48)
    shifted = shifted[shifted["event_time"] >= shifted["event_time"].min() + pd.Timedelta(hours=12)]
    paths = {
        "ref": tmp_path / "ref.parquet",
        "same": tmp_path / "same.csv",
        "shifted": tmp_path / "shifted.parquet",
    }
    ref.to_parquet(paths["ref"])
    same.to_csv(paths["same"], index=False)
    shifted.to_parquet(paths["shifted"])
    return paths


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["drift", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_no_drift_exits_zero_with_the_contract_shape(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    code, result = run_json(
        capsys, "--reference", str(data["ref"]), "--current", str(data["same"]), "--model", "churn"
    )
    assert code == 0
    assert result["drifted"] is False
    assert result["n_reference"] == 5000
    assert result["n_current"] == 5000
    assert set(result["features"]) == set(scenarios.reference("churn", 10).columns) - {
        "event_time",
        "churned",
    }
    numeric = result["features"]["monthly_charges"]
    assert numeric["type"] == "numeric"
    assert isinstance(numeric["drifted"], bool)
    assert set(numeric["tests"]["psi"]) >= {"score", "threshold", "drifted"}
    assert set(numeric["tests"]["ks"]) >= {"score", "p_value", "threshold", "drifted"}
    assert result["features"]["contract"]["type"] == "categorical"


def test_drift_exits_one_and_names_the_feature(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    code, result = run_json(
        capsys,
        "--reference", str(data["ref"]),
        "--current", str(data["shifted"]),
        "--model", "churn",
        "--tests", "all",
    )  # fmt: skip
    assert code == 1
    assert result["drifted"] is True
    assert result["drifted_features"] == ["monthly_charges"]
    assert set(result["features"]["monthly_charges"]["tests"]) == {
        "psi", "ks", "chisquare", "jensenshannon", "wasserstein", "hellinger",
    }  # fmt: skip
    assert result["features"]["monthly_charges"]["tests"]["psi"]["score"] > 0.25


def test_inferred_types_without_a_model(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, result = run_json(
        capsys, "--reference", str(data["ref"]), "--current", str(data["shifted"])
    )
    assert code == 1
    assert result["features"]["senior_citizen"]["type"] == "numeric"  # inferred from int dtype
    assert result["features"]["contract"]["type"] == "categorical"
    assert "event_time" not in result["features"]
    assert "churned" in result["features"]  # without a model every column is monitored


def test_profile_then_drift_against_the_profile(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path, repo_cwd: Path
) -> None:
    out = tmp_path / "profile.json"
    assert main(["profile", "--model", "churn", "--data", str(data["ref"]), "--out", str(out)]) == 0
    profile = json.loads(out.read_text())
    assert profile["format"] == "driftloop.profile/v1"
    assert profile["features"]["monthly_charges"]["bins"][-1] == "missing"
    capsys.readouterr()
    code, result = run_json(capsys, "--profile", str(out), "--current", str(data["shifted"]))
    assert code == 1
    assert "ks" in result["features"]["monthly_charges"]["skipped"]


def test_html_report(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path, repo_cwd: Path
) -> None:
    html = tmp_path / "report.html"
    code = main(
        ["drift", "--reference", str(data["ref"]), "--current", str(data["same"]),
         "--model", "churn", "--html", str(html)]
    )  # fmt: skip
    assert code == 0
    text = html.read_text()
    assert text.lstrip().lower().startswith("<!doctype html") or "<html" in text[:500].lower()
    assert "monthly_charges" in text


BAD_INPUT = {
    "missing file": (
        ["--reference", "{tmp}/nope.parquet", "--current", "{same}"],
        "file not found",
    ),
    "unknown format": (
        ["--reference", "{tmp}/x.txt", "--current", "{same}"],
        "unknown format .txt",
    ),
    "empty csv": (["--reference", "{ref}", "--current", "{tmp}/empty.csv"], "cannot read as csv"),
    "garbage parquet": (
        ["--reference", "{ref}", "--current", "{tmp}/garbage.parquet"],
        "cannot read as parquet",
    ),
    "header only": (
        ["--reference", "{tmp}/header.csv", "--current", "{same}"],
        "reference data has no rows",
    ),
    "unknown model": (
        ["--reference", "{ref}", "--current", "{same}", "--model", "fraud"],
        "models/fraud/model.yaml: file not found",
    ),
    "no reference": (["--current", "{same}"], "give --reference"),
    "unknown test": (
        ["--reference", "{ref}", "--current", "{same}", "--tests", "psi,foo"],
        "unknown test(s) foo",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_two(
    data: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    repo_cwd: Path,
    case: str,
) -> None:
    template, message = BAD_INPUT[case]
    values = {"tmp": str(tmp_path), "ref": str(data["ref"]), "same": str(data["same"])}
    (tmp_path / "x.txt").write_text("a,b\n1,2\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "header.csv").write_text("monthly_charges,contract\n")
    code = main(["drift", *(arg.format(**values) for arg in template)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_feature_in_current_is_drift(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    current = pd.read_csv(data["same"]).drop(columns=["payment_method"])
    current.to_csv(tmp_path / "cut.csv", index=False)
    code, result = run_json(
        capsys,
        "--reference",
        str(data["ref"]),
        "--current",
        str(tmp_path / "cut.csv"),
        "--model",
        "churn",
    )
    assert code == 1
    assert result["features"]["payment_method"]["status"] == "missing_in_current"


def test_infinities_are_counted_as_missing(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    current = pd.read_csv(data["same"])
    current.loc[:10, "monthly_charges"] = np.inf
    current.to_csv(tmp_path / "odd.csv", index=False)  # written as "inf", read back as inf
    code, result = run_json(
        capsys,
        "--reference",
        str(data["ref"]),
        "--current",
        str(tmp_path / "odd.csv"),
        "--model",
        "churn",
    )
    assert code == 0
    assert result["features"]["monthly_charges"]["status"] == "no_drift"


def test_console_script_runs_on_demo_uris(repo_cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "driftloop.cli.main", "drift", "--model", "taxi",
         "--reference", "demo://taxi/reference?rows=3000",
         "--current", "demo://taxi/none?hours=3"],
        capture_output=True, text=True, check=False, cwd=repo_cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no_drift: 0 of 4 feature(s) drifted" in result.stdout


def test_usage_without_command_exits_two() -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


def test_reading_only_the_features_and_text_as_categories_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_cwd: Path
) -> None:
    """`drift` reads only the profiled columns of a parquet file, text as categoricals; the
    report is the one a full read with object columns gives."""
    from driftloop.data.frames import read_frame
    from driftloop.drift import compare
    from driftloop.drift.columns import infer_types
    from driftloop.drift.profile import build_profile

    ref = scenarios.reference("churn", rows=3000).assign(unused=lambda f: f["tenure_months"] * 2)
    cur = scenarios.stream("churn", "persistent", hours=30).drop(columns=["tenure_months"])
    ref.loc[::7, "contract"] = None
    paths = {"ref": tmp_path / "ref.parquet", "cur": tmp_path / "cur.parquet"}
    ref.to_parquet(paths["ref"])
    cur.to_parquet(paths["cur"])

    narrow = read_frame(str(paths["ref"]), ["contract", "tenure_months", "nosuch"], categories=True)
    assert sorted(narrow.columns) == ["contract", "tenure_months"]
    assert isinstance(narrow["contract"].dtype, pd.CategoricalDtype)

    code = main(["drift", "--reference", str(paths["ref"]), "--current", str(paths["cur"]),
                 "--model", "churn", "--tests", "all", "--json"])  # fmt: skip
    via_cli = json.loads(capsys.readouterr().out)
    full_ref, full_cur = pd.read_parquet(paths["ref"]), pd.read_parquet(paths["cur"])
    from driftloop.config import load_model
    from driftloop.drift import DriftOptions, parse_tests

    spec = load_model("churn")
    profile = build_profile(full_ref, spec.feature_types, bins=spec.profile.bins,
                            top_k=spec.profile.top_k, model="churn")  # fmt: skip
    direct = compare(full_ref, full_cur, profile, DriftOptions(tests=parse_tests("all")))
    assert code == 1
    assert via_cli == json.loads(json.dumps(direct.to_dict()))
    assert via_cli["features"]["tenure_months"]["status"] == "missing_in_current"
    assert infer_types(narrow) == {"contract": "categorical", "tenure_months": "numeric"}


@pytest.mark.parametrize(
    ("spoil", "share"),
    [
        (lambda s: s.mask(np.arange(len(s)) % 100 < 97), 0.97),  # 97% nulls
        (lambda s: s.where(np.arange(len(s)) % 2 == 0, np.inf), 0.5),  # 50% infinite
    ],
    ids=["97% nulls", "50% infinite"],
)
def test_a_jump_in_missing_values_is_drift(
    data: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    repo_cwd: Path,
    tmp_path: Path,
    spoil,
    share: float,  # type: ignore[no-untyped-def]
) -> None:
    """#23.6: the KS on the few remaining values said 'same', and the verdict said no drift."""
    current = scenarios.reference("churn", rows=5000, seed=3)
    current["monthly_charges"] = spoil(current["monthly_charges"].astype(float))
    path = tmp_path / "spoiled.parquet"
    current.to_parquet(path)
    code, result = run_json(capsys, "--reference", str(data["ref"]), "--current", str(path),
                            "--model", "churn")  # fmt: skip
    assert code == 1
    feature = result["features"]["monthly_charges"]
    assert feature["status"] == "drift"
    assert feature["missing"]["current"] == pytest.approx(share, abs=0.01)
    assert feature["missing"]["drifted"] is True
    assert result["drifted_features"] == ["monthly_charges"]


def test_a_few_more_missing_values_are_not_drift(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], repo_cwd: Path, tmp_path: Path
) -> None:
    current = scenarios.reference("churn", rows=5000, seed=3)
    current["monthly_charges"] = current["monthly_charges"].mask(np.arange(5000) % 100 == 0)
    path = tmp_path / "one-percent.parquet"
    current.to_parquet(path)
    code, result = run_json(capsys, "--reference", str(data["ref"]), "--current", str(path),
                            "--model", "churn")  # fmt: skip
    assert code == 0, result["drifted_features"]
    assert result["features"]["monthly_charges"]["missing"]["drifted"] is False
