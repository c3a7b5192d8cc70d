"""Prometheus as the source of recorded drift signals (prometheus-api-client).

Reads the recording rules' output: ``driftloop:feature_psi:<w>`` and
``driftloop:feature_samples:<w>`` per model, version and feature. Every failure (down, slow,
5xx, a malformed answer) is an UpstreamError: "could not check" must never look like
"checked, no drift".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from driftloop.errors import UpstreamError
from driftloop.policy.signals import FeatureSignal, Snapshot

__all__ = ["MetricsSource", "PrometheusSource"]


class MetricsSource(Protocol):
    def snapshot(self, model: str, window: str, at: datetime) -> Snapshot: ...

    def timeline(
        self, model: str, window: str, start: datetime, end: datetime, step: timedelta
    ) -> list[Snapshot]: ...


@contextmanager
def _upstream(url: str) -> Iterator[None]:
    try:
        yield
    except PrometheusApiClientException as error:
        raise UpstreamError("Prometheus", f"{url} refused the query: {str(error)[:200]}") from None
    except requests.Timeout:
        raise UpstreamError("Prometheus", f"{url} did not answer in time") from None
    except requests.exceptions.RetryError:
        raise UpstreamError("Prometheus", f"{url} kept answering 5xx (2 retries)") from None
    except requests.RequestException as error:
        raise UpstreamError("Prometheus", f"{url} unreachable: {type(error).__name__}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise UpstreamError("Prometheus", f"{url} answered something unexpected: {error}") from None


def _value(raw: Any) -> float | None:
    value = float(raw)
    return value if math.isfinite(value) else None  # NaN/Inf samples are ignored


def _selector(model: str) -> str:
    return "{model=" + json.dumps(model) + "}"  # a JSON string is a valid PromQL string


class PrometheusSource(MetricsSource):
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        # Bounded retries on 5xx, then an error; never minutes of waiting in a CronJob.
        retry = Retry(
            total=2, read=False, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504)
        )
        self.client = PrometheusConnect(
            url=self.url, disable_ssl=False, timeout=timeout, retry=retry
        )

    def close(self) -> None:
        self.client._session.close()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _instant(self, query: str, at: datetime) -> list[dict[str, Any]]:
        with _upstream(self.url):
            return list(self.client.custom_query(query, params={"time": at.timestamp()}))

    def _range(
        self, query: str, start: datetime, end: datetime, step: timedelta
    ) -> list[dict[str, Any]]:
        with _upstream(self.url):
            return list(
                self.client.custom_query_range(query, start, end, f"{int(step.total_seconds())}s")
            )

    def _shape(self, model: str, at: datetime) -> dict[tuple[str, str], tuple[int, float | None]]:
        """(version, feature) -> (number of bins, reference rows), for noise-aware policies."""
        selector = _selector(model)
        bins = self._instant(
            f"count by (version, feature) (driftloop_feature_reference_ratio{selector})", at
        )
        rows = self._instant(f"max by (version) (driftloop_reference_rows{selector})", at)
        by_version = {r["metric"].get("version", ""): _value(r["value"][1]) for r in rows}
        return {
            (b["metric"].get("version", ""), b["metric"].get("feature", "")): (
                int(float(b["value"][1])),
                by_version.get(b["metric"].get("version", "")),
            )
            for b in bins
        }

    def snapshot(self, model: str, window: str, at: datetime) -> Snapshot:
        selector = _selector(model)
        psi = self._instant(f"driftloop:feature_psi:{window}{selector}", at)
        samples = self._instant(f"driftloop:feature_samples:{window}{selector}", at)
        shape = self._shape(model, at)
        return _merge(
            at,
            [(s["metric"], _value(s["value"][1])) for s in psi],
            [(s["metric"], _value(s["value"][1])) for s in samples],
            shape,
        )

    def timeline(
        self, model: str, window: str, start: datetime, end: datetime, step: timedelta
    ) -> list[Snapshot]:
        selector = _selector(model)
        psi = self._range(f"driftloop:feature_psi:{window}{selector}", start, end, step)
        samples = self._range(f"driftloop:feature_samples:{window}{selector}", start, end, step)
        shape = self._shape(model, end)
        points: dict[float, tuple[list[Any], list[Any]]] = {}
        for kind, series in ((0, psi), (1, samples)):
            for item in series:
                for timestamp, raw in item["values"]:
                    points.setdefault(float(timestamp), ([], []))[kind].append(
                        (item["metric"], _value(raw))
                    )
        return [
            _merge(datetime.fromtimestamp(ts, UTC), psi_values, sample_values, shape)
            for ts, (psi_values, sample_values) in sorted(points.items())
        ]


def _merge(
    at: datetime,
    psi: list[tuple[dict[str, str], float | None]],
    samples: list[tuple[dict[str, str], float | None]],
    shape: dict[tuple[str, str], tuple[int, float | None]],
) -> Snapshot:
    """One signal per feature: the version with the most rows (the stable one in a canary)."""
    counts = {(m.get("version", ""), m.get("feature", "")): v for m, v in samples if v is not None}
    best: dict[str, FeatureSignal] = {}
    for metric, value in psi:
        if value is None:
            continue
        key = (metric.get("version", ""), metric.get("feature", ""))
        bins, reference_rows = shape.get(key, (None, None))
        signal = FeatureSignal(key[1], value, counts.get(key, 0.0), key[0], reference_rows, bins)
        current = best.get(key[1])
        if current is None or signal.samples > current.samples:
            best[key[1]] = signal
    return Snapshot(at, best)
