"""Prometheus as the source of recorded drift signals (its HTTP API, through requests).

Reads the recording rules' output: ``driftloop:feature_psi:<w>`` and
``driftloop:feature_samples:<w>`` per model, version and feature. Queries go by POST, so a
selector naming thousands of models never meets a URL length limit. Every failure (down,
slow, 5xx, a malformed answer) is an UpstreamError: "could not check" must never look like
"checked, no drift".
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from driftloop.adapters.snapshots import (
    Sample,
    Shape,
    by_model,
    finite,
    merge,
    milliseconds,
    series_key,
    timelines,
)
from driftloop.errors import UpstreamError
from driftloop.generate.alerts import out_of_range_excess
from driftloop.policy.signals import Production, QualitySignal, Snapshot

__all__ = ["MetricsSource", "ProductionSource", "PrometheusSource"]

Quality = dict[str, dict[datetime, dict[str, QualitySignal]]]  # model -> at -> metric
# Which rows back each recorded quality metric (the rest of the name after ``model_``).
_QUALITY_ROWS = {
    "roc_auc": "feedback_scored_samples",
    "accuracy": "feedback_samples",
    "f1": "feedback_samples",
    "f1_macro": "feedback_samples",
    "mae": "feedback_samples",
    "rmse": "feedback_samples",
    "estimated_roc_auc": "prediction_samples",
    "estimated_accuracy": "prediction_samples",
    "estimated_f1_macro": "prediction_samples",
    "prediction_psi": "prediction_samples",  # recorded as driftloop:prediction_psi:<w>
    "prediction_share_shift": "prediction_samples",
}
_OUTPUT = ("prediction_psi", "prediction_share_shift")  # driftloop:<name>:<w>, no model_
_REFERENCE = "driftloop_reference_metric"  # the served version's metrics at training time
# Points per series in one range query: below Prometheus's default limit of 11,000.
MAX_POINTS = 10_000


class ProductionSource(Protocol):
    def production(
        self, models: list[str], at: datetime, namespace: str
    ) -> dict[str, Production]: ...


class MetricsSource(Protocol):
    def current(
        self, models: Sequence[str], window: str, at: datetime, shape: bool = False,
        hellinger: bool = False,
    ) -> dict[str, Snapshot]:  # fmt: skip
        """Every feature of each model at ``at``; with ``shape``, each signal also carries
        its reference's bins and rows (what noise-aware policies need); with ``hellinger``,
        its recorded Hellinger distance."""
        ...

    def history(
        self, models: Sequence[str], window: str, start: datetime, end: datetime,
        step: timedelta, floor: float, complete: Sequence[str] = (), shape: bool = False,
        hellinger: bool = False,
    ) -> dict[str, list[Snapshot]]:  # fmt: skip
        """Each model's snapshots from ``start`` to ``end``, one per ``step``. For ``models``
        they hold only the features whose PSI reached ``floor`` somewhere in that range
        (every version of them): the only ones that can have made a past point critical. For
        ``complete`` they hold every feature."""
        ...

    def timeline(
        self, model: str, window: str, start: datetime, end: datetime, step: timedelta,
        hellinger: bool = False,
    ) -> list[Snapshot]:  # fmt: skip
        """One model's snapshots with every feature (for backtests)."""
        ...

    def quality(
        self, models: Sequence[str], window: str, start: datetime, end: datetime,
        step: timedelta,
    ) -> Quality:  # fmt: skip
        """Each model's recorded quality metrics over ``window`` from ``start`` to ``end``,
        one point per ``step`` where any was recorded: one query for the fleet."""
        ...


class _RefusedError(Exception):
    pass


@contextmanager
def _upstream(url: str) -> Iterator[None]:
    try:
        yield
    except _RefusedError as error:
        raise UpstreamError("Prometheus", f"{url} refused the query: {str(error)[:200]}") from None
    except requests.Timeout:
        raise UpstreamError("Prometheus", f"{url} did not answer in time") from None
    except requests.exceptions.RetryError:
        raise UpstreamError("Prometheus", f"{url} kept answering 5xx (2 retries)") from None
    except requests.RequestException as error:
        raise UpstreamError("Prometheus", f"{url} unreachable: {type(error).__name__}") from None
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise UpstreamError("Prometheus", f"{url} answered something unexpected: {error}") from None


def _result(data: Any, points: str) -> list[dict[str, Any]]:
    """The series of a vector or matrix answer, each checked down to its samples, so that
    nothing malformed gets past the adapter (a ValueError here is "answered something
    unexpected", exit 3)."""
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        raise ValueError(f"no result list in {str(data)[:80]}")  # noqa: TRY004 (exit 3)
    for series in result:
        metric = series.get("metric") if isinstance(series, dict) else None
        if not isinstance(metric, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
        ):
            raise ValueError(f"a series without a label set: {str(series)[:80]}")
        samples = series.get(points)
        for sample in samples if points == "values" and isinstance(samples, list) else [samples]:
            if not (isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str)):
                raise ValueError(f"a sample that is not [time, value]: {str(sample)[:80]}")
            float(sample[0]), float(sample[1])  # "NaN" and "+Inf" parse; "abc" does not
    return result


def _selector(models: Sequence[str], **equal: str) -> str:
    """``{model=~"a|b"}``: RE2 anchors the match; a JSON string is a valid PromQL string."""
    matchers = [f"{name}={json.dumps(value)}" for name, value in equal.items()]
    matchers.append("model=~" + json.dumps("|".join(re.escape(m) for m in sorted(models))))
    return "{" + ", ".join(matchers) + "}"


class PrometheusSource(MetricsSource):
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.queries = 0  # how many queries this source sent (the check's cost)
        self._last_shape: tuple[tuple[frozenset[str], datetime], Shape] | None = None
        # Bounded retries on 5xx, then an error; never minutes of waiting in a CronJob.
        # Queries are read-only, so retrying a POST is safe.
        retry = Retry(
            total=2,
            read=False,
            backoff_factor=0.5,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"POST"}),
        )
        self.session = requests.Session()
        self.session.mount(self.url, HTTPAdapter(max_retries=retry))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, path: str, form: dict[str, str]) -> list[dict[str, Any]]:
        self.queries += 1
        with _upstream(self.url):
            response = self.session.post(
                f"{self.url}/api/v1/{path}", data=form, timeout=self.timeout
            )
            if response.status_code != 200:
                raise _RefusedError(f"HTTP {response.status_code}: {response.text.strip()}")
            try:
                body = json.loads(response.content)
            except ValueError:
                kind = response.headers.get("Content-Type", "no content type")
                raise ValueError(f"not JSON ({kind}): {response.text[:80]!r}") from None
            if not isinstance(body, dict) or body.get("status") != "success":
                error = body.get("error") if isinstance(body, dict) else None
                raise _RefusedError(str(error or f"no success status in {str(body)[:80]}"))
            return _result(body.get("data"), "values" if path == "query_range" else "value")

    def _instant(self, query: str, at: datetime) -> list[dict[str, Any]]:
        return self._query("query", {"query": query, "time": f"{milliseconds(at) / 1000:.3f}"})

    def _range(
        self, query: str, start: datetime, end: datetime, step: timedelta
    ) -> list[dict[str, Any]]:
        """One range query, split into consecutive chunks of at most MAX_POINTS steps: a stock
        Prometheus refuses more than 11,000 points per series (90 days at 5m is 25,920)."""
        merged: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + step * (MAX_POINTS - 1))
            form = {
                "query": query,
                "start": f"{milliseconds(chunk_start) / 1000:.3f}",
                "end": f"{milliseconds(chunk_end) / 1000:.3f}",
                "step": f"{int(step.total_seconds())}s",
            }
            for series in self._query("query_range", form):
                key = tuple(sorted(series.get("metric", {}).items()))
                found = merged.setdefault(key, {"metric": series.get("metric", {}), "values": []})
                found["values"].extend(series.get("values", []))
            chunk_start = chunk_end + step
        return list(merged.values())

    def _shape(self, models: Sequence[str], at: datetime) -> Shape:
        """(model, version, feature) -> (number of bins, reference rows, smallest non-zero
        reference share), for noise-aware policies and detection. The last answer is kept: a
        check reads it for now, then for its history."""
        if self._last_shape is not None:
            (known, when), shape = self._last_shape
            if when == at and known.issuperset(models):
                return shape
        selector = _selector(models)
        bins = self._instant(
            f"count by (model, version, feature) (driftloop_feature_reference_ratio{selector})",
            at,
        )
        rows = self._instant(f"max by (model, version) (driftloop_reference_rows{selector})", at)
        smallest = self._instant(
            f"min by (model, version, feature) (driftloop_feature_reference_ratio{selector} > 0)",
            at,
        )
        by_version = {series_key(r["metric"])[:2]: finite(r["value"][1]) for r in rows}
        by_feature = {series_key(m["metric"]): finite(m["value"][1]) for m in smallest}
        shape = {
            series_key(b["metric"]): (
                int(float(b["value"][1])),
                by_version.get(series_key(b["metric"])[:2]),
                by_feature.get(series_key(b["metric"])),
            )
            for b in bins
        }
        self._last_shape = ((frozenset(models), at), shape)
        return shape

    def current(
        self, models: Sequence[str], window: str, at: datetime, shape: bool = False,
        hellinger: bool = False,
    ) -> dict[str, Snapshot]:  # fmt: skip
        if not models:
            return {}
        selector = _selector(models)
        # the value-range share now (a warning beside PSI, never judged over history)
        kinds = ("psi", "samples", "hellinger" if hellinger else "", "out_of_range_share")
        answers = [
            self._instant(_feature_query(k, window, selector), at) if k else [] for k in kinds
        ]
        reference = self._shape(models, at) if shape else {}
        grouped = by_model(*[[(s["metric"], finite(s["value"][1])) for s in a] for a in answers])
        return {model: merge(at, grouped.get(model, ()), reference, model) for model in models}

    def history(
        self, models: Sequence[str], window: str, start: datetime, end: datetime,
        step: timedelta, floor: float, complete: Sequence[str] = (), shape: bool = False,
        hellinger: bool = False,
    ) -> dict[str, list[Snapshot]]:  # fmt: skip
        # Which models had a feature reach the floor: one instant query over the range;
        # only their series travel, and only the features that reached it.
        span = f"{int((end - start + step).total_seconds())}s"  # covers the first point too
        at = f"{milliseconds(end) / 1000:.3f}"
        psi = f"driftloop:feature_psi:{window}"
        reached = []
        if models:
            found = self._instant(
                f"count by (model) (max_over_time({psi}{_selector(models)}[{span}]) >= {floor!r})",
                end,
            )
            reached = [r["metric"].get("model", "") for r in found]
        series = []
        kinds = ("psi", "samples", "hellinger") if hellinger else ("psi", "samples")
        for kind in kinds if reached or complete else ():
            metric = f"driftloop:feature_{kind}:{window}"
            parts = [f"{metric}{_selector(complete)}"] if complete else []
            if reached:
                selector = _selector(reached)
                parts.append(
                    f"{metric}{selector} and on(model, feature) "
                    f"(max_over_time({psi}{selector}[{span}] @ {at}) >= {floor!r})"
                )
            series.append(self._range(" or ".join(f"({p})" for p in parts), start, end, step))
        names = [*models, *complete]
        reference = self._shape(names, end) if shape and series and series[0] else {}
        return timelines(names, series or [[], []], reference, start, end, step)

    def quality(
        self, models: Sequence[str], window: str, start: datetime, end: datetime,
        step: timedelta,
    ) -> Quality:  # fmt: skip
        if not models:
            return {}
        metrics = "|".join(sorted(m for m in _QUALITY_ROWS if m not in _OUTPUT))
        rows = "|".join(sorted({*_QUALITY_ROWS.values(), *_OUTPUT}))
        # with the training-time values the servers export (levels relative to training)
        name = f"driftloop:(model_({metrics})|{rows}):{re.escape(window)}|{_REFERENCE}"
        selector = _selector(models).replace("{", "{__name__=~" + json.dumps(name) + ", ", 1)
        values: dict[tuple[str, float], dict[str, dict[str, float]]] = defaultdict(dict)
        for series in self._range(selector, start, end, step):
            metric = series["metric"]
            if metric.get("__name__") == _REFERENCE:
                kind = f"reference_{metric.get('metric', '')}"
            else:
                kind = metric.get("__name__", "").split(":")[1].removeprefix("model_")
            for timestamp, raw in series["values"]:
                value = finite(raw)
                if value is not None:
                    point = values[(metric.get("model", ""), round(float(timestamp), 3))]
                    point.setdefault(kind, {})[metric.get("version", "")] = value
        result: Quality = defaultdict(dict)
        for (model, timestamp), point in values.items():
            signals = {}
            for metric, rows_name in _QUALITY_ROWS.items():
                counts = point.get(rows_name, {})
                known = [(counts.get(v, 0.0), v) for v in point.get(metric, {})]
                if known:  # the version with the most rows (the stable one in a canary)
                    count, version = max(known)
                    signals[metric] = QualitySignal(metric, point[metric][version], count, version)
                    base = metric.removeprefix("estimated_")
                    training = point.get(f"reference_{base}", {}).get(version)
                    if training is not None:
                        signals[f"reference_{base}"] = QualitySignal(
                            f"reference_{base}", training, 0.0, version
                        )
            if signals:
                result[model][datetime.fromtimestamp(timestamp, UTC)] = signals
        return dict(result)

    def production(self, models: list[str], at: datetime, namespace: str) -> dict[str, Production]:
        """Per model: the versions its pods in ``namespace`` export telemetry for now, and
        whether Argo Rollouts reports its Rollout (model-server-<model>) Degraded."""
        if not models:
            return {}
        scope = _selector(models, namespace=namespace)
        live = self._instant(
            f"max by (model, version) (last_over_time(driftloop_reference_rows{scope}[5m]))", at
        )
        rollouts = "{" + f'namespace={json.dumps(namespace)}, phase="Degraded"' + "}"
        degraded = self._instant(f"max by (name) (rollout_info{rollouts}) == 1", at)
        served: dict[str, set[str]] = defaultdict(set)
        for series in live:
            served[series["metric"].get("model", "")].add(series["metric"].get("version", ""))
        aborted = {s["metric"].get("name", "").removeprefix("model-server-") for s in degraded}
        return {m: Production(frozenset(served[m]), m in aborted) for m in models}

    def timeline(
        self, model: str, window: str, start: datetime, end: datetime, step: timedelta,
        hellinger: bool = False,
    ) -> list[Snapshot]:  # fmt: skip
        selector = _selector([model])
        kinds = ("psi", "samples", "hellinger") if hellinger else ("psi", "samples")
        answers = [
            self._range(f"driftloop:feature_{k}:{window}{selector}", start, end, step)
            for k in kinds
        ]
        shape = self._shape([model], end)
        points: dict[float, tuple[list[Sample], ...]] = {}
        for kind, series in enumerate(answers):
            for item in series:
                for timestamp, raw in item["values"]:
                    points.setdefault(float(timestamp), ([], [], []))[kind].append(
                        (item["metric"], finite(raw))
                    )
        return [
            merge(datetime.fromtimestamp(ts, UTC), values, shape, model)
            for ts, values in sorted(points.items())
        ]


def _feature_query(kind: str, window: str, selector: str) -> str:
    if kind == "out_of_range_share":  # judged as the excess over the reference's own share
        return out_of_range_excess(window, selector)
    return f"driftloop:feature_{kind}:{window}{selector}"
