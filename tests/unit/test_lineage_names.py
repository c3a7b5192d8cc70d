"""OpenLineage dataset names: the naming spec's namespace and name, never a credential."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftloop.adapters.lineage import data_dataset, lineage_enabled, model_dataset


def test_a_model_namespace_never_carries_credentials() -> None:
    model = model_dataset("https://alice:hunter2@mlflow.example.com:8443/", "churn", "3")
    assert (model.namespace, model.name) == ("mlflow+https://mlflow.example.com:8443",
                                             "models/churn/3")  # fmt: skip
    assert "hunter2" not in repr(model)
    assert model_dataset("sqlite:///m.db", "churn", None, alias="champion").name == (
        "models/churn/@champion"
    )


def test_data_uris_follow_the_naming_spec(tmp_path: Path) -> None:
    s3 = data_dataset("s3://lake/churn/date=2026-12-01/part.parquet", [])
    assert (s3.namespace, s3.name) == ("s3://lake", "/churn/date=2026-12-01/part.parquet")
    local = data_dataset(str(tmp_path / "x.csv"), [("a", "numeric")], "sha256:1")
    assert (local.namespace, local.name, local.version) == ("file", str(tmp_path / "x.csv"),
                                                            "sha256:1")  # fmt: skip
    secret = data_dataset("https://u:p@data.example.com/x.csv?token=abc", [])
    assert "p@" not in secret.namespace + secret.name
    assert "token" not in secret.name


@pytest.mark.parametrize(
    ("env", "on"),
    [({}, False), ({"OPENLINEAGE_URL": "http://m:5000"}, True),
     ({"OPENLINEAGE__TRANSPORT__TYPE": "file"}, True),
     ({"OPENLINEAGE_URL": "http://m:5000", "OPENLINEAGE_DISABLED": "true"}, False)],
)  # fmt: skip
def test_lineage_is_on_only_when_a_transport_is_configured(
    env: dict[str, str], on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE__TRANSPORT__TYPE",
                 "OPENLINEAGE_DISABLED"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert lineage_enabled() is on
