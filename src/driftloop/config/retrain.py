"""``retrain:`` in model.yaml: where a model retrains (GitHub Actions or Argo Workflows on the
cluster) and, on the cluster, with what: resources, node selector, tolerations, deadline."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from driftloop.config.base import Duration, KeyedValueError, Strict

__all__ = ["Executor", "Resources", "RetrainSpec", "Toleration", "quantity"]

Executor = Literal["github", "argo"]

# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity): a plain or decimal
# number with an optional binary (Ki..Ei), decimal (m, k, M..E) or exponent suffix.
_QUANTITY = re.compile(
    r"^(?P<number>\d+(\.\d*)?|\.\d+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE]\d+)?$"
)
_SCALE = {"m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
          "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
          "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
          "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
          "Ei": Decimal(2) ** 60}  # fmt: skip
# a resource name: cpu, memory, ephemeral-storage, or a prefixed one like nvidia.com/gpu
_RESOURCE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity's value (``500m`` -> 0.5, ``2Gi`` -> 2147483648); ValueError
    naming the problem otherwise (a negative one included)."""
    if text.strip().startswith("-"):
        raise ValueError(f"{text!r} is negative")
    match = _QUANTITY.match(text.strip().lstrip("+"))
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (like 500m, 2, 4Gi)")
    suffix = match.group("suffix") or ""
    number = Decimal(match.group("number"))
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SCALE.get(suffix, Decimal(1))


def _quantities(values: dict[str, str | int | float]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in values.items():
        if not _RESOURCE.match(name):
            raise KeyedValueError(name, "is not a resource name (cpu, memory, nvidia.com/gpu)")
        if isinstance(value, bool):
            raise KeyedValueError(name, "is a boolean, not a quantity")
        text = format(value, "g") if isinstance(value, int | float) else str(value)
        try:
            quantity(text)
        except ValueError as error:
            raise KeyedValueError(name, str(error)) from None
        out[name] = text
    return out


class Resources(Strict):
    """The training step's requests and limits, as in a container's ``resources``."""

    requests: dict[str, str | int | float] = Field(default_factory=dict)
    limits: dict[str, str | int | float] = Field(default_factory=dict)

    @field_validator("requests", "limits")
    @classmethod
    def _valid(cls, values: dict[str, str | int | float]) -> dict[str, str]:
        return _quantities(values)

    @model_validator(mode="after")
    def _within_limits(self) -> Resources:
        for name, request in self.requests.items():
            limit = self.limits.get(name)
            if limit is not None and quantity(str(request)) > quantity(str(limit)):
                raise KeyedValueError(f"requests.{name}", f"{request} is above its limit {limit}")
        return self


class Toleration(Strict):
    """A Kubernetes toleration, e.g. for spot or GPU nodes' taints."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, alias="tolerationSeconds", ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.key is not None and not _LABEL_KEY.match(self.key):
            raise KeyedValueError("key", f"{self.key!r} is not a taint key")
        if self.operator == "Exists" and self.value is not None:
            raise KeyedValueError("value", "operator Exists takes no value")
        if self.key is None and self.operator != "Exists":
            raise KeyedValueError("key", "a toleration without a key needs operator Exists")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise KeyedValueError("tolerationSeconds", "applies only to effect NoExecute")
        return self

    def manifest(self) -> dict[str, str | int]:
        data = self.model_dump(by_alias=True, exclude_none=True)
        if data.get("operator") == "Equal":  # Kubernetes' default
            data.pop("operator")
        return data


class RetrainSpec(Strict):
    """Where the model retrains. ``github`` (the default): retrain.yml on a GitHub runner.
    ``argo``: the model's WorkflowTemplate on the cluster (`make manifests` writes it), which
    ``driftloop check --dispatch argo`` submits through the Argo Server."""

    executor: Executor = "github"
    resources: Resources = Field(
        default_factory=Resources, description="The training step's requests and limits (argo)."
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the training step must run on (argo)."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Taints the training step tolerates: spot, GPU (argo)."
    )
    timeout: Duration = Field(
        default=timedelta(hours=3),
        description="The whole retrain's deadline (argo: activeDeadlineSeconds).",
    )
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Pods an estimator.search fans out to (argo): the training step and "
        "workers - 1 search pods sharing one Optuna study (Secret driftloop-study-storage).",
    )  # fmt: skip
    retries: int = Field(
        default=2, ge=0, le=10,
        description="Retries of the training step when its pod is lost (a spot node reclaimed).",
    )  # fmt: skip

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            if not _LABEL_KEY.match(key):
                raise KeyedValueError(key, "is not a label key")
            if not _LABEL_VALUE.match(value):
                raise KeyedValueError(key, f"{value!r} is not a label value")
        return values

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("a retrain needs at least 1m")
        return value
