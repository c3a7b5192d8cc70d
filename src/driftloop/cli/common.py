"""Helpers the command modules share: loading the feature spec, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from driftloop.errors import UsageError

if TYPE_CHECKING:  # the commands import what they use when they run (fast --help)
    import pandas as pd

    from driftloop.adapters.registry import ModelRegistry
    from driftloop.drift import Profile

__all__ = [
    "at_least",
    "check_output",
    "emit",
    "emit_json",
    "http_url",
    "model_names",
    "parse_step",
    "parse_time",
    "port_number",
    "positive_seconds",
    "profile_for",
    "prometheus_url",
    "registry_from_environment",
    "seconds",
    "selected_models",
]


def emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()  # progress must show as it happens, also when piped


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, allow_nan=False, default=str) + "\n")


def check_output(path: Path | None, flag: str, create_parent: bool = False) -> None:
    """Refuse an output path that cannot be written before any side effect happens (a
    version registered, an alias moved), not after it. ``create_parent``: make a missing
    directory now (where the command always made it), refusing if that fails."""
    if path is None:
        return
    try:
        _check_output(path, flag, create_parent)
    except OSError as error:  # a name too long for the file system, say
        raise UsageError(f"{flag} {str(path)[:80]}: {error.strerror or error}") from None


def _check_output(path: Path, flag: str, create_parent: bool) -> None:
    if not str(path).strip():
        raise UsageError(f"{flag}: empty; name a file")
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; name a file")
    parent = path.parent if str(path.parent) else Path()
    if create_parent and not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as error:
            raise UsageError(f"{flag} {path}: cannot create {parent}: {error.strerror}") from None
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{flag} {path}: not writable")


def model_features(model: str, models_dir: Path) -> list[str]:
    from driftloop.config import load_model

    return list(load_model(model, models_dir).feature_types)


def profile_for(
    reference: pd.DataFrame,
    model: str | None,
    models_dir: Path,
    bins: int | None = None,
    top_k: int | None = None,
) -> tuple[Profile, pd.DataFrame]:
    """A profile of ``reference``, and ``reference`` with its text features' descriptors:
    with the model's feature types and binning when a model is named, otherwise with types
    inferred from the columns."""
    from driftloop.drift.columns import infer_types
    from driftloop.drift.profile import profile_frame

    if model is not None:
        from driftloop.config import load_model

        spec = load_model(model, models_dir)
        return profile_frame(
            reference,
            spec.feature_types,
            bins=bins or spec.profile.bins,
            top_k=top_k or spec.profile.top_k,
            model=spec.name,
        )
    return profile_frame(reference, infer_types(reference), bins=bins or 10, top_k=top_k or 20)


def registry_from_environment() -> ModelRegistry:
    """The MLflow registry named by MLFLOW_TRACKING_URI (SQLite under .driftloop/ if unset)."""
    from driftloop.adapters.mlflow import MlflowRegistry

    return MlflowRegistry.from_environment()


def parse_time(
    text: str, now: datetime | None = None, flag: str = "", future: bool = False
) -> datetime:
    """``now``, ``-90d``/``-6h``/``-30m`` (before now), ISO 8601, or Unix seconds; UTC.
    From 1970 on, and unless ``future``, at most a few minutes from now: Prometheus has
    nothing to answer outside that range."""
    from driftloop.config import parse_duration

    now = now or datetime.now(UTC)
    value = text.strip()
    named = f"{flag} {text!r}".strip()
    try:
        if value == "now":
            parsed = now
        elif value.startswith("-"):
            parsed = now - parse_duration(value[1:])
        else:
            parsed = _absolute_time(value)
    except (ValueError, OverflowError, OSError) as error:
        raise UsageError(
            f"{named} is not a time (now, -90d, ISO 8601 or Unix seconds): {error}"
        ) from None
    if parsed < _EPOCH:
        raise UsageError(f"{named} is before 1970-01-01")
    if parsed > now + _CLOCK_SKEW and not future:
        raise UsageError(f"{named} is in the future (now is {now:%Y-%m-%dT%H:%M:%SZ})")
    return parsed


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(minutes=5)


def _absolute_time(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_step(text: str, flag: str = "--step") -> timedelta:
    """A positive duration for a loop's step (0s would never advance)."""
    from driftloop.config import parse_duration

    try:
        step = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"{flag}: {error}") from None
    if step <= timedelta(0):
        raise UsageError(f"{flag}: {text!r} must be longer than 0s")
    return step


def port_number(text: str) -> int:
    """argparse type of a TCP port to listen on."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return port


def at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type of a whole number from ``low`` (to ``high``): limits, counts, bins."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {span}")
        return value

    return whole


def _number_of_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def seconds(text: str) -> float:
    """argparse type of a wait: a finite number of seconds, 0 or more."""
    value = _number_of_seconds(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds, 0 or more")
    return value


def positive_seconds(text: str) -> float:
    """argparse type of timeouts: a finite number of seconds above 0 (inf would wait forever)."""
    value = _number_of_seconds(text)
    if not 0 < value <= 86_400:  # False for NaN; a day is past any sensible wait
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a number of seconds above 0, at most a day"
        )
    return value


def selected_models(models_dir: Path, wanted: list[str] | None) -> list[str]:
    """The models a command works on: ``wanted`` (each must exist), or every model."""
    names = model_names(models_dir)
    unknown = [name for name in wanted or [] if name not in names]
    if unknown:
        raise UsageError(
            f"unknown model(s) {', '.join(unknown)}: {models_dir} has {', '.join(names) or 'none'}"
        )
    return list(wanted) if wanted else names


def check_tasks(policy: Any, models_dir: Path, models: list[str], source: str) -> None:
    """Quality thresholds a model's task can record, and drift statistics the rules record
    (ConfigError naming the key if not)."""
    from driftloop.config import load_model

    policy.check_recorded(source)
    own = [m for m in models if m in policy.models and policy.models[m].performance]
    policy.check_tasks({m: load_model(m, models_dir).task for m in own}, source)


def model_names(models_dir: Path) -> list[str]:
    """Every model with a models/<name>/model.yaml (or <name>.model.yaml), each validated."""
    from driftloop.config import load_model
    from driftloop.config.model import model_files

    if not models_dir.is_dir():
        raise UsageError(f"{models_dir}: no models directory")
    names = list(model_files(models_dir))
    for name in names:
        load_model(name, models_dir)
    return names


def prometheus_url(flag: str | None) -> str:
    url = flag or os.environ.get("DRIFTLOOP_PROMETHEUS_URL")
    if not url:
        raise UsageError("give --prometheus URL or set DRIFTLOOP_PROMETHEUS_URL")
    return http_url(url, "--prometheus" if flag else "DRIFTLOOP_PROMETHEUS_URL")


def http_url(url: str, what: str) -> str:
    """An http(s) URL with a host, checked before any work is done for it."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise UsageError(f"{what} {url[:80]!r} is not an http(s) URL")
    return url


def lineage_warnings(errors: list[str]) -> None:
    """Lineage that could not be sent: a warning, never the job's failure."""
    for error in errors:
        sys.stderr.write(f"driftloop: warning: {error}\n")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", "")
