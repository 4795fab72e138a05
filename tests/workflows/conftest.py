"""Fixtures of the workflow scenarios: the session's wheel and pip cache, and a user's repository
served to the Actions runner (tests/testing/scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.git_http import GitHttpServer
from tests.testing.runner import build_wheel, checkout_sha
from tests.testing.scenario import REPO, Scenario


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
    server = GitHttpServer(tmp_path / "served").start()
    server.add(REPO, example_repo.origin)
    # act names the repository after a remote's URL; the jobs fetch and push through GITHUB_SERVER_URL
    example_repo.git("remote", "add", "github", f"https://github.com/{REPO}.git")
    fake_github.artifacts_dir = tmp_path / "artifacts"
    try:
        yield Scenario(example_repo, fake_github, server, tmp_path, wheel, checkout_sha(), pip_cache)
    finally:
        server.stop()


@pytest.fixture
def scenario(served_repo: Scenario) -> Scenario:
    """The user's repository with `mlci init`'s workflows committed on main (pinned to this checkout's
    commit, the package pointed at its wheel)."""
    repo, ref = served_repo.repo, served_repo.ref
    config = (repo.root / "mlci.yaml").read_text()  # the project's own: keep it
    init = run_cli("init", "--ref", ref, "--force", cwd=repo.root)
    assert init.returncode == 0, init.stderr
    (repo.root / "mlci.yaml").write_text(config)
    for caller in (repo.root / ".github" / "workflows").glob("mlci-*.yml"):
        text = caller.read_text()
        caller.write_text(text.replace(f"git+https://github.com/mlci-dev/mlci@{ref}", str(served_repo.wheel)))
    repo.commit("Add mlci's workflows")
    repo.git("push", "-q", "origin", "main")
    return served_repo
