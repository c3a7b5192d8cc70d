"""model.yaml's ``retrain:``: the executor and what the cluster's training step gets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftloop.config import load_model
from driftloop.config.retrain import quantity
from driftloop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def spec_with(tmp_path: Path, retrain: Any, **extra: Any) -> Path:
    data = yaml.safe_load((ROOT / "models/churn/model.yaml").read_text())
    data["retrain"] = retrain
    data.update(extra)
    path = tmp_path / "churn" / "model.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_default_is_github_with_nothing_to_set() -> None:
    retrain = load_model("churn", ROOT / "models").retrain
    assert retrain.executor == "github"
    assert retrain.timeout == timedelta(hours=3)


def test_an_argo_model_with_gpu_spot_settings(tmp_path: Path) -> None:
    retrain = load_model(spec_with(tmp_path, {
        "executor": "argo", "timeout": "6h", "retries": 3,
        "resources": {"requests": {"cpu": "4", "memory": "64Gi", "nvidia.com/gpu": 1},
                      "limits": {"memory": "64Gi", "nvidia.com/gpu": 1}},
        "node_selector": {"cloud.google.com/gke-spot": "true"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                        {"key": "spot", "value": "true", "effect": "NoExecute",
                         "tolerationSeconds": 60}],
    })).retrain  # fmt: skip
    assert retrain.resources.requests == {"cpu": "4", "memory": "64Gi", "nvidia.com/gpu": "1"}
    assert retrain.timeout == timedelta(hours=6)
    assert retrain.tolerations[1].manifest() == {
        "key": "spot",
        "value": "true",
        "effect": "NoExecute",
        "tolerationSeconds": 60,
    }


@pytest.mark.parametrize(
    ("retrain", "key", "phrase"),
    [
        ({"executor": "lambda"}, "retrain.executor", "'github' or 'argo'"),
        ({"resources": {"requests": {"cpu": "-1"}}}, "retrain.resources.requests.cpu", "negative"),
        ({"resources": {"limits": {"memory": -5}}}, "retrain.resources.limits.memory", "negative"),
        ({"resources": {"requests": {"memory": "lots"}}}, "requests.memory", "not a Kubernetes"),
        ({"resources": {"requests": {"CPU!": "1"}}}, "requests.CPU!", "not a resource name"),
        ({"resources": {"requests": {"memory": "8Gi"}, "limits": {"memory": "4Gi"}}},
         "retrain.resources.requests.memory", "above its limit"),
        ({"timeout": "10s"}, "retrain.timeout", "at least 1m"),
        ({"node_selector": {"pool": "spot nodes"}}, "retrain.node_selector.pool", "label value"),
        ({"tolerations": [{"operator": "Equal", "value": "x"}]}, "retrain.tolerations[0].key",
         "operator Exists"),
        ({"tolerations": [{"key": "a", "operator": "Exists", "value": "x"}]},
         "retrain.tolerations[0].value", "no value"),
        ({"workers": 4}, "retrain.workers", "estimator.search"),
        ({"workers": 0}, "retrain.workers", "greater than or equal to 1"),
        ({"executor": "argo", "gpu": 1}, "retrain.gpu", "unknown key"),
    ],
)  # fmt: skip
def test_bad_retrain_settings_name_their_key(
    tmp_path: Path, retrain: dict[str, Any], key: str, phrase: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_model(spec_with(tmp_path, retrain))
    assert key in str(caught.value)
    assert phrase in str(caught.value)


def test_quantities_read_as_kubernetes_reads_them() -> None:
    assert quantity("500m") == Decimal("0.5")
    assert quantity("2Gi") == 2 * 2**30
    assert quantity("1e3") == 1000
    assert quantity("1.5") == Decimal("1.5")
    with pytest.raises(ValueError, match="negative"):
        quantity("-1Gi")
