"""Shared fixtures: the repository root and small data files written per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_cwd() -> Iterator[Path]:
    """Run with the repository as working directory (where models/ and policies/ live)."""
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        yield ROOT
    finally:
        os.chdir(previous)
