"""Fixtures for every suite; the helpers themselves live in the importable tests.testing package."""

pytest_plugins = [
    "tests.testing.fixtures",
    "tests.testing.github_fixtures",
    "tests.testing.skips",
    "tests.testing.storage",
    "tests.testing.cloud",
]


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """The Actions-runner scenarios take minutes each: start them first, so that with `-n 2` the quick
    tests fill the gaps instead of the run ending on one long scenario (same order on every worker)."""
    items.sort(key=lambda item: 0 if _is_scenario(item.nodeid) else 1)


def _is_scenario(nodeid: str) -> bool:
    module = nodeid.split("::", 1)[0]
    return module.startswith("tests/workflows/") and module.endswith("scenarios.py")
