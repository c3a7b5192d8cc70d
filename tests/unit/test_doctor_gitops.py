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


def test_doctor_names_an_expired_allowance_and_a_searched_parameter_that_does_not_exist(
    tmp_path: Path,
) -> None:
    from datetime import date

    from driftloop.doctor.local import check_audit_policy, check_configs

    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "dependencies.yaml").write_text(
        "apiVersion: driftloop/v1\nkind: DependencyAudit\nallow:\n"
        "  - {id: GHSA-aaaa-bbbb-cccc, reason: not reachable from the server, expires: 2026-01-31}\n"
    )
    before = check_audit_policy(policies, date(2026, 1, 31))
    after = check_audit_policy(policies, date(2026, 2, 1))
    assert before is not None
    assert before.ok
    assert after is not None
    assert not after.ok
    assert "GHSA-aaaa-bbbb-cccc (2026-01-31)" in after.detail
    assert check_audit_policy(tmp_path, date(2026, 2, 1)) is None  # no policy: no check

    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models)
    spec = models / "churn/model.yaml"
    spec.write_text(spec.read_text().replace(
        "  params: {max_iter: 200, learning_rate: 0.1, random_state: 0}",
        "  params: {max_iter: 200, random_state: 0}\n"
        "  search: {params: {learning_rat: {low: 0.01, high: 0.3}}}",
    ))  # fmt: skip
    checks, _ = check_configs(models, policies)
    failed = {c.name: c.detail for c in checks if not c.ok}
    assert any("estimator.search.params.learning_rat" in d for d in failed.values()), failed
