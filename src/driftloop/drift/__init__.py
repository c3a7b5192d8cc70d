"""Pure drift math: reference profiles, statistical tests, corrections, comparison."""

from driftloop.drift.engine import DriftOptions, DriftReport, FeatureDrift, compare, parse_tests
from driftloop.drift.profile import FeatureProfile, Profile, build_profile, profile_frame
from driftloop.drift.result import TestResult

__all__ = [
    "DriftOptions",
    "DriftReport",
    "FeatureDrift",
    "FeatureProfile",
    "Profile",
    "TestResult",
    "build_profile",
    "compare",
    "parse_tests",
    "profile_frame",
]
