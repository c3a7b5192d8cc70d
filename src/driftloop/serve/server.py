"""Running the app under uvicorn, with a drain delay on SIGTERM.

On SIGTERM the server first reports not-ready on /readyz for ``drain_seconds`` while still
serving, so Kubernetes removes the pod from its Service endpoints before connections stop;
then uvicorn stops accepting and finishes in-flight requests (up to ``grace_seconds``).
A second signal skips the rest of the drain; a third stops without waiting. The process
exits 0 after a graceful stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from driftloop.serve.app import ServerState, Settings, create_app
from driftloop.train.bundle import ModelBundle

__all__ = ["DrainingServer", "serve"]


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServerState, drain_seconds: float) -> None:
        super().__init__(config)
        self.state = state
        self.drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's handler: it re-raises the signal after shutdown, so a clean drain
        # would end with "killed by SIGTERM"; driftloop exits 0 after a graceful stop.
        if self.should_exit:
            self.force_exit = True
        elif self.state.draining or self.drain_seconds <= 0:
            self.should_exit = True
        else:
            self.state.draining = True
            timer = threading.Timer(self.drain_seconds, setattr, args=(self, "should_exit", True))
            timer.daemon = True
            timer.start()


def serve(
    bundle: ModelBundle,
    host: str = "127.0.0.1",
    port: int = 8080,
    settings: Settings | None = None,
    drain_seconds: float = 5.0,
    grace_seconds: float = 20.0,
    reload: Callable[[], ModelBundle] | None = None,
) -> None:
    app = create_app(bundle, settings, reload)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(grace_seconds),
    )
    DrainingServer(config, app.state.driftloop, drain_seconds).run()
