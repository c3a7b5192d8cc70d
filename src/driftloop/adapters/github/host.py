"""GitHub as the repo host, through PyGithub: dispatches, history, pull requests, issues, and
the facts promote judges a merge by. One class assembled from the parts, each in its module.

Writes look before they create (PyGithub retries a POST after a 5xx, and the first attempt
may have succeeded): the dispatch for a drift episode, the PR for a branch and the issue for
a model are searched for first, and a "already exists" answer is resolved by reading again.
"""

from __future__ import annotations

from driftloop.adapters.github.activity import RecordedFacts
from driftloop.adapters.github.reviews import MergeFacts
from driftloop.adapters.github.runs import RetrainRuns
from driftloop.adapters.repohost import RepoHost

__all__ = ["GitHubHost"]


class GitHubHost(RetrainRuns, MergeFacts, RecordedFacts, RepoHost):
    """The RepoHost (and ProposalHost) on GitHub."""
