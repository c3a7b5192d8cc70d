"""Model bundles trained on the demo scenarios, for tests that serve a real model (the same
function the benchmarks use, in the package)."""

from __future__ import annotations

from pathlib import Path

from driftloop.demo.bundles import train_bundle as _train_bundle

ROOT = Path(__file__).resolve().parents[2]


def train_bundle(model: str, target: Path, rows: int = 8000, version: str = "1") -> Path:
    return _train_bundle(model, target, rows, version, ROOT / "models")
