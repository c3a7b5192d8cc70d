"""`driftloop doctor`: is a real installation wired up? One ok/fail line per check, each
failure with its fix: the checkout (``local``), Prometheus and MLflow (``services``), and the
repository's settings on GitHub (``repository``)."""

from driftloop.doctor.check import Check
from driftloop.doctor.local import (
    check_approval_keys,
    check_configs,
    check_gitops,
    check_local_repo,
)
from driftloop.doctor.repository import (
    check_codeowners,
    check_environment,
    check_github,
    check_protection,
)
from driftloop.doctor.services import check_argo, check_mlflow, check_prometheus

__all__ = [
    "Check",
    "check_approval_keys",
    "check_argo",
    "check_codeowners",
    "check_configs",
    "check_environment",
    "check_github",
    "check_gitops",
    "check_local_repo",
    "check_mlflow",
    "check_prometheus",
    "check_protection",
]
