"""#23's first classes, against real MLflow on SQLite: input that would corrupt state or skip
the gate is refused (exit 2) before anything is registered or any alias moves.

- retrain refuses the aliases the loop owns and names MLflow would reject, before fitting;
- retrain and gate refuse an output path they cannot write before their side effects;
- gate refuses a candidate whose version and model_uri disagree, or that names a version
  that does not exist, before scoring: it never scores one version and aliases another."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.cli.main import main
from driftloop.loop.gate import GATE_TAGS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DATA = "demo://churn/reference?rows=3000"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/, policies/ and MLflow with churn v1 (champion) and v2 (a candidate)."""
    root = tmp_path_factory.mktemp("bad-input")
    shutil.copytree(ROOT / "models", root / "models")
    shutil.copytree(ROOT / "policies", root / "policies")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        for n in (1, 2):
            assert main(["retrain", "--model", "churn", "--data", DATA, "--out", f"c{n}.json"]) == 0
        MlflowRegistry.from_environment().set_alias("churn", "champion", "1")
    return root


@pytest.fixture
def here(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workspace / 'mlflow.db'}")
    return workspace


def versions() -> int:
    return len(MlflowRegistry.from_environment().client.search_model_versions("name='churn'"))


@pytest.mark.parametrize(
    ("alias", "phrase"),
    [
        ("champion", "the loop owns champion"),
        ("Challenger", "the loop owns Challenger"),
        ("not an alias!", "an MLflow alias is"),
        ("latest", "an MLflow alias is"),
        ("v3", "an MLflow alias is"),
    ],
)
def test_retrain_refuses_an_alias_before_registering_anything(
    here: Path, capsys: pytest.CaptureFixture[str], alias: str, phrase: str
) -> None:
    before = versions()
    code = main(
        ["retrain", "--model", "churn", "--data", DATA, "--alias", alias, "--out", "x.json"]
    )
    assert code == 2
    assert phrase in capsys.readouterr().err
    assert versions() == before
    assert MlflowRegistry.from_environment().alias_version("churn", "champion") == "1"


@pytest.mark.parametrize("out", ["missing/dir/c.json", "."])
def test_retrain_refuses_an_unwritable_output_before_registering(
    here: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    before = versions()
    assert main(["retrain", "--model", "churn", "--data", DATA, "--out", out]) == 2
    assert "--out" in capsys.readouterr().err
    assert versions() == before


def candidate(here: Path, **change: object) -> Path:
    data = json.loads((here / "c2.json").read_text())
    data.update(change)
    path = here / "bad-candidate.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"version": "1"}, "disagrees with its version 1"),  # scores v2, would alias v1
        ({"model_uri": "models:/churn/1"}, "disagrees with its version 2"),
        ({"version": "99", "model_uri": "models:/churn/99"}, "which is not registered"),
        ({"version": True}, "is not a version number"),
        ({"model_uri": "runs:/abc/model"}, "disagrees"),
    ],
)
def test_gate_refuses_an_inconsistent_candidate_before_any_work(
    here: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict,
    phrase: str,  # type: ignore[type-arg]
) -> None:
    registry = MlflowRegistry.from_environment()
    challenger = registry.alias_version("churn", "challenger")
    path = candidate(here, **change)
    assert main(["gate", "--model", "churn", "--candidate", str(path), "--out", "g.json"]) == 2
    assert phrase in capsys.readouterr().err
    assert registry.alias_version("churn", "challenger") == challenger
    for version in ("1", "2"):
        assert not set(GATE_TAGS) & set(registry.version_tags("churn", version))
    assert not (here / "g.json").exists()


def test_gate_refuses_an_unwritable_output_before_moving_an_alias(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = MlflowRegistry.from_environment()
    challenger = registry.alias_version("churn", "challenger")
    (here / "reports").mkdir(exist_ok=True)
    code = main(["gate", "--model", "churn", "--candidate", "c2.json", "--out", "reports"])
    assert code == 2
    assert "is a directory" in capsys.readouterr().err
    assert registry.alias_version("churn", "challenger") == challenger
