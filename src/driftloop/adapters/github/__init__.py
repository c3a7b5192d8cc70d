"""GitHub as the repo host (PyGithub), split along its seams: the shared connection
(``client``), the retrain workflow's runs (``runs``), proposals (``pulls``), what promote
judges a merge by (``reviews``) and the settings doctor checks (``settings``)."""

from driftloop.adapters.github.host import GitHubHost
from driftloop.adapters.github.runs import WORKFLOW
from driftloop.adapters.github.settings import repository_facts

__all__ = ["WORKFLOW", "GitHubHost", "repository_facts"]
