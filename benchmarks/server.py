"""Model server latency and throughput: driftloop serve (telemetry on and off) against
`mlflow models serve` on the same bundle (churn, or tickets: TF-IDF on text), single-row and
100-row requests.

Run: python benchmarks/server.py [--model churn|tickets] (needs wrk: apt-get install wrk).
Latency is measured with one connection (no queueing), throughput with eight; the server is
one process on one core.
Goals (issue #3): telemetry adds <= 5% to p50; throughput >= 2x mlflow models serve; single-row
p99 well under the 150 ms SLO. Issue #19: tickets >= 3x mlflow models serve, text telemetry
(descriptors counted per message) <= 10% of p50. Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftloop.demo.bundles import train_bundle
from driftloop.demo.processes import free_port, stop, wait_ready
from driftloop.synthetic import scenarios

ROUNDS = 3
FEATURES = {
    "churn": [
        "tenure_months", "monthly_charges", "contract", "payment_method", "support_calls",
        "senior_citizen",
    ],
    "tickets": ["message", "channel", "plan"],
}  # fmt: skip


@contextmanager
def started(command: list[str], ready: str) -> Iterator[None]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        wait_ready(ready, process, "benchmark server", timeout=120)
        yield
    finally:
        stop(process)


def payloads(rows: int, count: int, model: str = "churn") -> list[dict[str, object]]:
    frame = scenarios.reference(model, rows=max(rows * 20, 2000), seed=5)[FEATURES[model]]
    if model == "churn":
        frame["senior_citizen"] = frame["senior_citizen"].astype(str)  # its signature: text
    records = frame.to_dict(orient="records")
    return [
        {"dataframe_records": records[(i * rows) % (len(records) - rows) :][:rows]}
        for i in range(count)
    ]


def _wrk(
    url: str, body: dict[str, object], connections: int, seconds: int, workdir: Path
) -> dict[str, float]:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [[{json.dumps(body)}]]\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors from {url}:\n{out}")

    def millis(label: str) -> float:
        value = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.MULTILINE)
        assert value is not None, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[value.group(2)]
        return float(value.group(1)) * scale

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps is not None, out
    return {"p50_ms": millis("50"), "p99_ms": millis("99"), "rps": float(rps.group(1))}


def measure(url: str, body: dict[str, object], workdir: Path) -> dict[str, float]:
    """Latency with one connection (no queueing), throughput with eight."""
    _wrk(url, body, 1, 2, workdir)  # warm-up
    latency = _wrk(url, body, 1, 5, workdir)
    throughput = _wrk(url, body, 8, 5, workdir)
    return {"p50_ms": latency["p50_ms"], "p99_ms": latency["p99_ms"], "rps": throughput["rps"]}


def text_telemetry_ms(bundle: Path, body: dict[str, object]) -> float:
    """In process: the telemetry work a text feature adds to one request (its descriptors
    from the batch's shared tokens, their bins and out-of-range counts), median ms."""
    import numpy as np

    from driftloop.drift.profile import count_beyond
    from driftloop.drift.text import descriptor_columns, tokenise
    from driftloop.serve.payload import parse_scoring
    from driftloop.serve.telemetry import Telemetry
    from driftloop.train.bundle import load_bundle

    telemetry = Telemetry(load_bundle(bundle))
    columns = parse_scoring(json.dumps(body).encode(), telemetry.bundle.spec, 10_000)
    tokens = tokenise(columns, telemetry.texts)
    times = []
    for _ in range(2000):
        start = time.perf_counter()
        for name, known in telemetry.texts.items():
            described = descriptor_columns(name, columns[name], known, tokens[name])
            for feature, values in described.items():
                profile = telemetry.features[feature]
                np.bincount(profile.index_of_prepared(values), minlength=len(profile.bins))
                if feature in telemetry.ranges:
                    count_beyond(values, *telemetry.ranges[feature])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=sorted(FEATURES), default="churn")
    model = parser.parse_args().model
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/server.py needs wrk (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="driftloop-bench-"))
    bundle = train_bundle(model, workdir / model, rows=20_000)
    mlflow = shutil.which("mlflow")
    servers = {
        "driftloop serve (telemetry on)": [
            sys.executable,
            "-m",
            "driftloop.cli.main",
            "serve",
            "--model-uri",
            str(bundle),
        ],
        "driftloop serve (telemetry off)": [
            sys.executable,
            "-m",
            "driftloop.cli.main",
            "serve",
            "--model-uri",
            str(bundle),
            "--no-telemetry",
        ],
        "mlflow models serve": [
            mlflow or "mlflow",
            "models",
            "serve",
            "-m",
            str(bundle),
            "--env-manager",
            "local",
            "--workers",
            "1",
        ],
    }
    # Telemetry on and off alternate over three rounds (medians reported): the difference is
    # small enough that the order of runs would otherwise show up in it.
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    order = [
        *[n for _ in range(ROUNDS) for n in servers if "driftloop" in n],
        "mlflow models serve",
    ]
    for name in order:
        port = free_port()
        ready = f"http://127.0.0.1:{port}/" + ("ping" if "mlflow" in name else "readyz")
        host = ["--host", "127.0.0.1"] if "mlflow" in name else []
        with started([*servers[name], "--port", str(port), *host], ready):
            for rows in (1, 100):
                url = f"http://127.0.0.1:{port}/invocations"
                runs.setdefault((name, rows), []).append(
                    measure(url, payloads(rows, 1, model)[0], workdir)
                )
    results = {
        key: {m: statistics.median(r[m] for r in values) for m in values[0]}
        for key, values in runs.items()
    }
    print("| server | rows/request | p50 ms | p99 ms | requests/s |\n|---|---|---|---|---|")
    for (name, rows), r in results.items():
        print(f"| {name} | {rows} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rps']:.0f} |")
    for rows in (1, 100):
        on = results[("driftloop serve (telemetry on)", rows)]
        off = results[("driftloop serve (telemetry off)", rows)]
        ml = results[("mlflow models serve", rows)]
        overhead = 100 * (on["p50_ms"] / off["p50_ms"] - 1)
        print(
            f"\n{rows} row(s): telemetry adds {overhead:+.1f}% to p50; "
            f"throughput {on['rps'] / ml['rps']:.1f}x mlflow models serve"
        )
        if model == "tickets":
            text = text_telemetry_ms(bundle, payloads(rows, 1, model)[0])
            print(f"  text telemetry (descriptors, in process): {text:.3f} ms = "
                  f"{100 * text / on['p50_ms']:.1f}% of p50")  # fmt: skip
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
