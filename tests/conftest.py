"""Fixtures for every suite; the helpers themselves live in the importable tests.testing package."""

import pytest

from tests.testing import node_tools

pytest_plugins = [
    "tests.testing.fixtures",
    "tests.testing.github_fixtures",
    "tests.testing.skips",
    "tests.testing.storage",
    "tests.testing.cloud",
    "tests.testing.live_service",
    "tests.testing.mlflow_server",
]


def pytest_configure(config: pytest.Config) -> None:
    """Install the suite's npm packages (Azurite, GitHub's REST description) once, in the controller, before
    any xdist worker starts: the README's test command needs nothing else on a fresh machine."""
    if hasattr(config, "workerinput"):
        return
    problem = node_tools.ensure_installed()
    if problem:
        config.issue_config_time_warning(pytest.PytestWarning(problem), stacklevel=2)


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """The Actions-runner scenarios take minutes each: start them first, so that with `-n 2` the quick
    tests fill the gaps instead of the run ending on one long scenario (same order on every worker)."""
    items.sort(key=lambda item: 0 if _is_scenario(item.nodeid) else 1)


def _is_scenario(nodeid: str) -> bool:
    module = nodeid.split("::", 1)[0]
    return module.startswith("tests/workflows/") and module.endswith("scenarios.py")
