"""Hyper-parameter search with Optuna before the final fit (``estimator.search``).

One study, TPE seeded from the spec, scored by time-ordered validation: each trial fits on
the older rows of the training split and is judged on its newest ``validation_share``,
never on rows the final evaluation holds out. The study lives in an Optuna RDB storage
(SQLite in a temporary folder, or a database shared by several pods), so ``workers``
processes share it. Trials heartbeat: a worker that dies leaves a trial the others (or the
caller, at the end) fail and run again with the same parameters, so none is lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from driftloop.config import ModelSpec
from driftloop.config.model import SearchRange, SearchSpec
from driftloop.errors import ConfigError, DataError, UpstreamError, UsageError
from driftloop.train.data import prepare_features, time_split, validate
from driftloop.train.evaluate import evaluate
from driftloop.train.pipeline import build_pipeline

__all__ = [
    "SEARCH_METRIC",
    "SearchResult",
    "check_search_parameters",
    "run_worker",
    "search",
    "search_spec",
    "study_storage_url",
    "with_params",
]

# What each task's trials maximise (the gate's usual primary metrics)
SEARCH_METRIC = {
    "binary_classification": "roc_auc",
    "multiclass_classification": "f1_macro",
    "regression": "r2",
}
HEARTBEAT_SECONDS = 2
GRACE_SECONDS = 10


@dataclass
class SearchResult:
    metric: str
    best_params: dict[str, Any]
    best_value: float
    baseline_value: float | None  # model.yaml's own parameters, scored the same way
    trials: list[dict[str, Any]] = field(default_factory=list)
    workers: int = 1
    seconds: float = 0.0


def search_spec(spec: ModelSpec) -> SearchSpec:
    if spec.estimator is None or spec.estimator.search is None:
        raise ConfigError(spec.name, "estimator.search", "the model declares no search")
    return spec.estimator.search


def with_params(spec: ModelSpec, params: dict[str, Any]) -> ModelSpec:
    """``spec`` with its estimator's parameters overridden by ``params``."""
    if spec.estimator is None:
        raise ConfigError(spec.name, "estimator", "a search needs an estimator class")
    estimator = spec.estimator.model_copy(update={"params": {**spec.estimator.params, **params}})
    return spec.model_copy(update={"estimator": estimator})


def _suggest(trial: Any, name: str, r: SearchRange) -> Any:
    if r.choices is not None:
        return trial.suggest_categorical(name, r.choices)
    low, high = float(r.low or 0), float(r.high or 0)  # both set: SearchRange checks
    if r.integer:
        return trial.suggest_int(name, int(low), int(high), log=r.log)
    return trial.suggest_float(name, low, high, log=r.log)


def _score(spec: ModelSpec, params: dict[str, Any], data: tuple[Any, ...], folder: Path) -> float:
    from driftloop.train.fit import model_outputs

    x_fit, y_fit, x_val, y_val = data
    pipeline = build_pipeline(with_params(spec, params), folder)
    pipeline.fit(x_fit, y_fit)
    predicted, scores = model_outputs(pipeline, x_val, spec)
    return float(evaluate(spec.task, y_val, predicted, scores)[SEARCH_METRIC[spec.task]])


def _data(spec: ModelSpec, frame: pd.DataFrame, eval_fraction: float) -> tuple[Any, ...]:
    """The training split of the final fit, cut again by time: older rows fit each trial,
    the newest ``validation_share`` score it."""
    train, _ = time_split(frame, spec, eval_fraction)
    fit, val = time_split(train, spec, search_spec(spec).validation_share)
    if len(fit) < 2 or len(val) < 1:
        raise DataError(f"too few training rows ({len(train)}) to search {spec.name}")
    return (prepare_features(fit, spec), fit[spec.target].to_numpy(),
            prepare_features(val, spec), val[spec.target].to_numpy())  # fmt: skip


def study_storage_url(url: str) -> str:
    """``url`` as the workers' Optuna RDB storage, refused unless it reads as a database URL
    (the password never in a message)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise UsageError("DRIFTLOOP_STUDY_STORAGE is not a database URL (driver://...)") from None
    return url


def _storage(url: str) -> Any:
    import warnings

    import optuna
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    shown = make_url(study_storage_url(url)).render_as_string(hide_password=True)
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's terms
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=3),
                engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite")
                else None,
            )  # fmt: skip
        except ImportError:
            driver = make_url(url).drivername
            raise UsageError(f"study storage {shown}: no {driver} driver is installed") from None
        except SQLAlchemyError as error:
            raise UpstreamError("study storage", f"{shown}: {type(error).__name__}") from None


def _study(spec: ModelSpec, storage_url: str, study_name: str) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=search_spec(spec).seed)
    return optuna.create_study(
        storage=_storage(storage_url), study_name=study_name, direction="maximize",
        sampler=sampler, load_if_exists=True,
    )  # fmt: skip


def _optimize(spec: ModelSpec, study: Any, data: tuple[Any, ...], folder: Path,
              deadline: float | None) -> None:  # fmt: skip
    import optuna

    search = search_spec(spec)
    done = optuna.study.MaxTrialsCallback(
        search.n_trials, states=(optuna.trial.TrialState.COMPLETE,)
    )

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, r) for name, r in search.params.items()}
        return _score(spec, params, data, folder)

    timeout = None if deadline is None else max(deadline - time.time(), 0.0)
    if _complete(study) < search.n_trials and (timeout is None or timeout > 0):
        study.optimize(objective, n_trials=search.n_trials, timeout=timeout, callbacks=[done],
                       catch=(ValueError,))  # fmt: skip


def _complete(study: Any) -> int:
    import optuna

    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def join_study(spec: ModelSpec, frame: pd.DataFrame, folder: Path, storage_url: str,
               study_name: str, eval_fraction: float = 0.2) -> int:  # fmt: skip
    """One pod of a search spread over several (Argo): run trials of the shared study until
    it has ``n_trials`` complete ones (or the search's timeout); the complete count."""
    validate(frame, spec)
    check_search_parameters(spec, folder)
    plan = search_spec(spec)
    deadline = time.time() + plan.timeout.total_seconds() if plan.timeout else None
    study = _study(spec, storage_url, study_name)
    _optimize(spec, study, _data(spec, frame, eval_fraction), folder, deadline)
    return _complete(study)


def _settle(study: Any, deadline: float | None) -> None:
    """Wait for trials that pods elsewhere are running: each ends, or its heartbeat goes
    stale and Optuna fails it and queues its parameters again (up to the search's deadline:
    a trial still running then does not count)."""
    import optuna

    running = (optuna.trial.TrialState.RUNNING,)
    while deadline is None or time.time() < deadline:
        with warnings.catch_warnings():  # "experimental" in Optuna's terms, as heartbeats are
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        if not study.get_trials(deepcopy=False, states=running):
            return
        time.sleep(HEARTBEAT_SECONDS / 2)


def run_worker(spec: ModelSpec, frame_path: Path, storage_url: str, study_name: str,
               folder: Path, deadline: float | None, eval_fraction: float) -> None:  # fmt: skip
    """One worker process of a shared study (``python -m driftloop.train.search_worker``)."""
    frame = pd.read_parquet(frame_path)
    _optimize(spec, _study(spec, storage_url, study_name), _data(spec, frame, eval_fraction),
              folder, deadline)  # fmt: skip


def check_search_parameters(spec: ModelSpec, folder: Path) -> None:
    """Every searched name must be a parameter of the estimator (a typo would fail each
    trial the same way, after an hour of them)."""
    source = str(folder / "model.yaml")
    if spec.train_hook is not None:
        raise ConfigError(source, "estimator.search", "a train_hook builds its own pipeline: "
                          "a search needs the estimator class")  # fmt: skip
    estimator = build_pipeline(spec, folder).named_steps["model"]
    for name in search_spec(spec).params:
        if name not in estimator.get_params():
            raise ConfigError(source, f"estimator.search.params.{name}",
                              f"not a parameter of {type(estimator).__name__}")  # fmt: skip


def _requeue_orphans(study: Any) -> None:
    """Once every worker has exited, a trial still RUNNING belongs to one that died: fail it
    and queue its parameters again (what the heartbeat does while others still run)."""
    import optuna

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params)


def _threads(workers: int) -> int:
    """Native threads per worker: the machine's cores shared out, so N workers do not each
    start one OpenMP thread per core and fight over them (gradient boosting does)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // workers)


def _spawn(count: int, args: list[str], threads: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "driftloop.train.search_worker", *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}  # fmt: skip
    return [subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)  # noqa: S603
            for _ in range(count)]  # fmt: skip


def search(
    spec: ModelSpec,
    frame: pd.DataFrame,
    folder: Path,
    workers: int = 1,
    storage_url: str | None = None,
    eval_fraction: float = 0.2,
    progress: Callable[[str], None] = lambda _: None,
) -> SearchResult:
    """Run the spec's study (``workers`` processes, this one included) and return the best
    parameters; ``storage_url`` an Optuna RDB URL the workers share (a temporary SQLite
    file when unset). ``folder`` is the model's folder (a ``train.py`` hook's home)."""
    import optuna

    validate(frame, spec)
    plan = search_spec(spec)
    check_search_parameters(spec, folder)
    data = _data(spec, frame, eval_fraction)
    started = time.time()
    deadline = started + plan.timeout.total_seconds() if plan.timeout else None
    # workers elsewhere (pods sharing DRIFTLOOP_STUDY_STORAGE) join by DRIFTLOOP_STUDY_NAME
    remote = storage_url is not None and bool(os.environ.get("DRIFTLOOP_STUDY_NAME"))
    study_name = os.environ.get("DRIFTLOOP_STUDY_NAME") or (
        f"driftloop-{spec.name}-{os.getpid()}-{int(started)}"
    )
    with tempfile.TemporaryDirectory(prefix="driftloop-search-") as tmp:
        url = storage_url or f"sqlite:///{Path(tmp) / 'study.db'}"
        study = _study(spec, url, study_name)
        children: list[subprocess.Popen[bytes]] = []
        if workers > 1:
            frame_path = Path(tmp) / "frame.parquet"
            frame.to_parquet(frame_path)
            spec_path = Path(tmp) / "spec.json"
            spec_path.write_text(spec.model_dump_json(by_alias=True))
            children = _spawn(
                workers - 1,
                [
                    str(spec_path),
                    str(frame_path),
                    url,
                    study_name,
                    str(folder),
                    str(deadline or ""),
                    str(eval_fraction),
                ],
                _threads(workers),
            )
        progress(f"searching {len(plan.params)} parameters: {plan.n_trials} "
                 f"trials, {workers} worker(s), {SEARCH_METRIC[spec.task]} on the newest "
                 f"{plan.validation_share:.0%} of the training rows")  # fmt: skip
        try:
            with threadpool_limits(limits=_threads(workers) if workers > 1 else None):
                _optimize(spec, study, data, folder, deadline)
                for child in children:
                    child.wait()
                if remote:  # pods elsewhere may still be running trials
                    _settle(study, deadline)
                else:
                    _requeue_orphans(study)  # a worker that died mid-trial: run its trial here
                _optimize(spec, study, data, folder, deadline)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise DataError(f"no trial of {spec.name}'s search completed (see its trials)")
        best = max(complete, key=lambda t: (t.value, -t.number))
    baseline = _score(spec, {}, data, folder)
    return SearchResult(
        metric=SEARCH_METRIC[spec.task],
        best_params=dict(best.params),
        best_value=float(best.value),
        baseline_value=baseline,
        trials=[
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": dict(t.params),
                "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else None,
            }
            for t in trials
        ],
        workers=workers,
        seconds=time.time() - started,
    )
