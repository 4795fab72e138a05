"""Commits of mlci's published releases, so `mlci init` can pin workflows by SHA.

A release commit cannot name itself, so the release process adds its entry in the next commit
(see docs/releasing.md). A source checkout pins its own HEAD instead.
"""

from __future__ import annotations

REPOSITORY = "mlci-dev/mlci"

# version -> full commit SHA of the release tag
COMMITS: dict[str, str] = {}
