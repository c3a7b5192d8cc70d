"""One doctor finding: a name, ok or not, what was seen, and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from driftloop.errors import DriftloopError

__all__ = ["Check", "guard"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


def guard(name: str, fix: str, body: Callable[[], Check]) -> Check:
    try:
        return body()
    except DriftloopError as error:
        return Check(name, False, str(error), fix)
