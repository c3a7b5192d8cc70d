"""The result every statistical test returns, and which tests exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BINNED_TESTS",
    "DEFAULT_TESTS",
    "EFFECT_TESTS",
    "SIGNIFICANCE_TESTS",
    "TEST_NAMES",
    "TestName",
    "TestResult",
]

TestName = Literal[
    "psi", "ks", "chisquare", "jensenshannon", "wasserstein", "hellinger", "domain_classifier"
]
TEST_NAMES: tuple[TestName, ...] = (
    "psi",
    "ks",
    "chisquare",
    "jensenshannon",
    "wasserstein",
    "hellinger",
)
# Effect sizes say how much a distribution moved; significance tests say whether the move is
# more than sampling noise. A drift verdict needs both (see drift/engine.py).
EFFECT_TESTS: frozenset[str] = frozenset({"psi", "jensenshannon", "wasserstein", "hellinger"})
SIGNIFICANCE_TESTS: frozenset[str] = frozenset({"ks", "chisquare"})
# Tests computed on bin counts, so they also run on what Prometheus records.
BINNED_TESTS: frozenset[str] = frozenset({"psi", "chisquare", "jensenshannon", "hellinger"})
DEFAULT_TESTS: dict[str, tuple[TestName, ...]] = {
    "numeric": ("psi", "ks"),
    "categorical": ("psi", "chisquare"),
}


@dataclass(frozen=True)
class TestResult:
    """One test on one feature.

    For effect sizes ``score`` is the statistic and ``threshold`` the level at or above which
    it counts as drift. For significance tests ``score`` is the statistic, ``p_value`` the
    p-value and ``threshold`` the significance level (alpha) that ``p_adjusted`` (after
    multiple-testing correction) is compared with.
    """

    __test__ = False  # not a pytest test class

    name: TestName
    score: float
    threshold: float
    drifted: bool
    p_value: float | None = None
    p_adjusted: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, float | bool]:
        data: dict[str, float | bool] = {
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }
        if self.p_value is not None:
            data["p_value"] = self.p_value
        if self.p_adjusted is not None:
            data["p_adjusted"] = self.p_adjusted
        data.update(self.extra)
        return data
