"""A model that cannot be served is caught before its first retrain: doctor (and CI, through
tests/manifests) name a model without a Rollout or a pin, and a pin without a model."""

from __future__ import annotations

import shutil
from pathlib import Path

from driftloop.doctor import check_gitops
from driftloop.generate.manifests import main as manifests

ROOT = Path(__file__).resolve().parents[2]


def repo(tmp_path: Path) -> Path:
    for part in ("models", "k8s"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def failures(root: Path) -> dict[str, str]:
    return {c.name: c.detail for c in check_gitops(root) if not c.ok}


def test_the_shipped_repository_is_consistent() -> None:
    assert failures(ROOT) == {}


def test_a_new_model_needs_its_manifests_and_its_pins(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "models/fraud").mkdir()
    text = (root / "models/churn/model.yaml").read_text()
    (root / "models/fraud/model.yaml").write_text(text.replace("name: churn", "name: fraud"))
    found = failures(root)
    assert "k8s/models/fraud/kustomization.yaml" in found["manifests"]
    assert "models/fraud has no version pin" in found["pins in production"]
    assert "models/fraud has no version pin" in found["pins in staging"]
    assert manifests([str(root)]) == 0  # make manifests
    assert "manifests" not in failures(root)
    assert (root / "k8s/models/fraud/kustomization.yaml").is_file()


def test_a_pin_without_a_model_and_a_folder_left_behind(tmp_path: Path) -> None:
    root = repo(tmp_path)
    shutil.rmtree(root / "models/taxi")
    found = failures(root)
    assert "pins 'taxi', which has no models/taxi/model.yaml" in found["pins in production"]
    assert "k8s/models/taxi/ (no models/taxi/model.yaml)" in found["manifests"]
