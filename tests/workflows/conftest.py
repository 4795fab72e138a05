"""Fixtures of the workflow scenarios: the session's wheel and pip cache, and a user's repository
served to the Actions runner (tests/testing/scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo
from tests.testing.runner import build_wheel
from tests.testing.scenario import Scenario, commit_callers, served


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pip cache for every job of every scenario, as a runner's cached install would be; shared by
    the xdist workers (their base folders have one parent), so only the first install downloads."""
    shared = tmp_path_factory.getbasetemp().parent / "scenario-pip-cache"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture
def served_repo(
    example_repo: ExampleRepo, fake_github: FakeGitHub, wheel: Path, pip_cache: Path, tmp_path: Path
) -> Iterator[Scenario]:
    """The example project as a user's repository, its origin served over HTTP; no workflow yet."""
    with served(example_repo, fake_github, wheel, pip_cache, tmp_path) as s:
        yield s


@pytest.fixture
def scenario(served_repo: Scenario) -> Scenario:
    """The user's repository with `mlci init`'s workflows committed on main (pinned to this checkout's
    commit, the package pointed at its wheel)."""
    return commit_callers(served_repo)
