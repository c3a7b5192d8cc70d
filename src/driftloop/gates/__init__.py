"""Pure non-regression gates: (candidate evaluation, champion evaluation, policy) -> report."""

from driftloop.gates.evaluation import Evaluation
from driftloop.gates.policy import evaluate_gates
from driftloop.gates.report import GateReport, GateResult

__all__ = ["Evaluation", "GateReport", "GateResult", "evaluate_gates"]
