"""The ASGI application: /invocations, /feedback, /metrics, /healthz, /readyz."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from driftloop.drift.text import tokenise
from driftloop.serve.payload import RequestError, check_classes, parse_feedback, parse_scoring
from driftloop.serve.telemetry import Telemetry
from driftloop.train.bundle import ModelBundle

__all__ = ["ServerState", "Settings", "create_app"]

log = logging.getLogger("driftloop.serve")

ERROR_CODES = {400: "BAD_REQUEST", 413: "REQUEST_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


@dataclass(frozen=True)
class Settings:
    max_body_bytes: int = 5 * 2**20
    max_rows: int = 10_000
    telemetry: bool = True


@dataclass
class ServerState:
    bundle: ModelBundle
    telemetry: Telemetry
    draining: bool = False
    ready: bool = True
    loaded_at: float = field(default_factory=time.time)


async def _body(request: Request, limit: int) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise RequestError(415, f"content type {content_type or '(none)'!r}; send application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"body of {declared} bytes; at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(error: RequestError) -> JSONResponse:
    code = ERROR_CODES.get(error.status, "INVALID_PARAMETER_VALUE")
    return JSONResponse({"error_code": code, "message": error.message}, status_code=error.status)


def _reload_handler(
    state: ServerState, reload: Callable[[], ModelBundle] | None
) -> Callable[[Request], Awaitable[Response]]:
    async def reload_model(_: Request) -> Response:
        if reload is None:
            message = "reload is not enabled (--enable-reload)"
            return JSONResponse({"message": message}, status_code=404)
        try:
            bundle = reload()
        except Exception as error:  # the old model keeps serving
            log.exception("reload failed")
            return JSONResponse({"message": f"reload failed: {error}"}, status_code=500)
        state.bundle, state.telemetry = bundle, Telemetry(bundle)
        return JSONResponse({"model": bundle.name, "version": bundle.version})

    return reload_model


def _answer(
    bundle: ModelBundle, request: Request, predictions: np.ndarray, outputs: np.ndarray
) -> JSONResponse:
    answer = {"predictions": predictions.tolist()}
    if bundle.spec.task == "binary_classification" and request.query_params.get("scores") == "true":
        answer["scores"] = outputs.tolist()  # the positive-class score, for /feedback (AUC)
    # which version predicted: feedback names it, whichever pod then receives it
    return JSONResponse(answer, headers={"driftloop-model-version": bundle.version})


def _count_feedback(state: ServerState, body: bytes, max_rows: int) -> int:
    numeric = state.bundle.spec.task == "regression"
    feedback = parse_feedback(body, max_rows, numeric)
    if not numeric:
        check_classes(feedback, state.telemetry.known)
    predictions, labels, scores, versions = feedback
    refused = state.telemetry.new_versions(versions)
    if refused:
        raise RequestError(422, refused)
    state.telemetry.observe_feedback(predictions, labels, scores, versions)
    return len(labels)


def create_app(
    bundle: ModelBundle,
    settings: Settings | None = None,
    reload: Callable[[], ModelBundle] | None = None,
) -> Starlette:
    """The app; ``reload`` (optional) loads the model again for ``POST /-/reload`` (the
    demo's way to pick up a promoted version; Kubernetes restarts pods instead)."""
    settings = settings or Settings()
    state = ServerState(bundle, Telemetry(bundle))

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        telemetry = state.telemetry
        try:
            body = await _body(request, settings.max_body_bytes)
            columns = parse_scoring(body, state.bundle.spec, settings.max_rows)
            tokens = tokenise(columns, telemetry.texts)  # once, for model and telemetry
            try:
                predictions, outputs = state.bundle.outputs_of_columns(columns, tokens)
            except Exception:  # the model itself failed: a server error, logged
                log.exception("prediction failed")
                raise RequestError(500, "the model failed to score this batch") from None
            if settings.telemetry:
                telemetry.observe(columns, outputs, tokens)
            response: Response = _answer(state.bundle, request, predictions, outputs)
        except RequestError as error:
            response = _error(error)
        telemetry.count_request(response.status_code)
        telemetry.latency_child.observe(time.perf_counter() - started)
        return response

    async def feedback(request: Request) -> Response:
        try:
            body = await _body(request, settings.max_body_bytes)
            accepted = _count_feedback(state, body, settings.max_rows)
        except RequestError as error:
            return _error(error)
        return JSONResponse({"accepted": accepted})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(state.telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if state.draining or not state.ready:
            return JSONResponse(
                {"status": "draining" if state.draining else "loading"}, status_code=503
            )
        return JSONResponse(
            {"status": "ready", "model": state.bundle.name, "version": state.bundle.version}
        )

    reload_model = _reload_handler(state, reload)

    app = Starlette(
        routes=[
            Route("/-/reload", reload_model, methods=["POST"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/ping", healthz, methods=["GET"]),  # mlflow models serve's health check
        ]
    )
    app.state.driftloop = state
    return app
