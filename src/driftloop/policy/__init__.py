"""Pure trigger policy: drift signals over time + dispatch history + policy -> Decision."""

from driftloop.policy.decide import Decision, decide
from driftloop.policy.signals import FeatureSignal, History, Snapshot

__all__ = ["Decision", "FeatureSignal", "History", "Snapshot", "decide"]
