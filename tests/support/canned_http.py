"""An HTTP server on 127.0.0.1 that answers every request with one fixed response: what a
misconfigured proxy, another API or a broken upstream sends back instead of Prometheus,
MLflow or GitHub. (The real services are tested elsewhere; this is for what they never say.)"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["canned", "serving"]


@contextmanager
def canned(
    body: str | bytes,
    content_type: str = "application/json",
    status: int = 200,
    record: list[tuple[str, dict[str, str], bytes]] | None = None,
) -> Iterator[str]:
    """Serve ``body`` to every GET and POST until the block ends; yields the base URL.
    ``record`` receives each request's path, headers and body."""
    payload = body.encode() if isinstance(body, str) else body

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            request = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if record is not None:
                record.append((self.path, dict(self.headers), request))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on 127.0.0.1 in a thread until the block ends; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
