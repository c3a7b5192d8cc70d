"""Replaying demo traffic against a model server, from a background thread."""

from __future__ import annotations

import threading
import time

import httpx
import pandas as pd

__all__ = ["Replay"]


class Replay:
    """Posts ``batch`` rows at a time, ``rate`` requests a second, cycling through frames;
    ``switch(frame)`` changes what is sent from the next request on. With ``labels`` (the
    target column), each scored batch's labels and scores go back to ``/feedback`` at once,
    as a label pipeline with no delay would send them."""

    def __init__(
        self,
        url: str,
        features: list[str],
        frame: pd.DataFrame,
        batch: int = 40,
        rate: float = 10.0,
        labels: str | None = None,
    ) -> None:
        self.url = f"{url}/invocations" + ("?scores=true" if labels else "")
        self.feedback_url = f"{url}/feedback"
        self.labels = labels
        self.features = features
        self.batch = batch
        self.interval = 1.0 / rate
        self._frame = frame
        self._position = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.sent = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def pause(self) -> None:
        """Stop sending until ``resume`` (the demo's retrain must not compete for the CPU)."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def switch(self, frame: pd.DataFrame) -> None:
        with self._lock:
            self._frame, self._position = frame, 0

    def _next(self) -> tuple[list[dict[str, object]], list[object]]:
        with self._lock:
            frame = self._frame
            if self._position + self.batch > len(frame):
                self._position = 0
            rows = frame.iloc[self._position : self._position + self.batch]
            self._position += self.batch
        records = rows[self.features].astype(object).where(rows[self.features].notna(), None)
        labels = rows[self.labels].tolist() if self.labels else []
        return [
            {str(k): v for k, v in row.items()} for row in records.to_dict(orient="records")
        ], labels

    def _send(self, client: httpx.Client) -> bool:
        rows, labels = self._next()
        response = client.post(self.url, json={"dataframe_records": rows})
        if response.status_code != 200:
            return False
        if self.labels:
            answer = response.json()
            version = response.headers.get("driftloop-model-version")
            scores = answer.get("scores") or [None] * len(labels)  # binary models only
            records = [
                {"prediction": p, "label": y, "score": s, "version": version}
                for p, y, s in zip(answer["predictions"], labels, scores, strict=True)
            ]
            client.post(self.feedback_url, json={"records": records})
        return True

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.is_set():
                if self._paused.is_set():
                    time.sleep(0.1)
                    continue
                try:
                    if self._send(client):
                        self.sent += self.batch
                    else:
                        self.errors += 1
                except httpx.HTTPError:
                    self.errors += 1
                time.sleep(self.interval)

    def __enter__(self) -> Replay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
