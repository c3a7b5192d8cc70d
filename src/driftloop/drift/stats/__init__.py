"""One statistical test per module: a pure function and its default threshold."""

from driftloop.drift.stats.chisquare import chisquare
from driftloop.drift.stats.hellinger import hellinger
from driftloop.drift.stats.jensenshannon import jensenshannon
from driftloop.drift.stats.ks import ks
from driftloop.drift.stats.psi import psi
from driftloop.drift.stats.wasserstein import wasserstein

__all__ = [
    "DEFAULT_THRESHOLDS",
    "chisquare",
    "hellinger",
    "jensenshannon",
    "ks",
    "psi",
    "wasserstein",
]

DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.1,
    "jensenshannon": 0.1,
    "hellinger": 0.1,
    "wasserstein": 0.1,
    "ks": 0.05,
    "chisquare": 0.05,
}
