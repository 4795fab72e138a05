"""What the workflow scenarios share: mlci's wheel, one pip cache, and the example project set up as a
user's repository whose callers are what `mlci init` writes (test_scenarios.py, test_cloud_scenarios.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.git_http import GitHttpServer
from tests.testing.runner import RunResult, build_wheel, checkout_sha, event_file, run_workflow

REPO = "octo-org/models"


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


@dataclass
class Scenario:
    repo: ExampleRepo
    fake: FakeGitHub
    server: GitHttpServer
    tmp: Path
    wheel: Path
    ref: str
    pip_cache: Path
    runs: int = 0
    secrets: dict[str, str] = field(default_factory=dict)  # repository secrets, as GitHub passes them

    def run(self, event: str, workflow: str, payload: dict[str, Any]) -> RunResult:
        self.runs += 1
        folder = self.tmp / f"run{self.runs}"
        payload = {"repository": {"full_name": REPO, "default_branch": "main", "fork": False}, **payload}
        secrets = tuple(arg for name, value in self.secrets.items() for arg in ("-s", f"{name}={value}"))
        return run_workflow(
            self.repo.root,
            event,
            self.repo.root / ".github" / "workflows" / workflow,
            event_file(folder, payload),
            api_url=self.fake.url,
            server_url=self.server.url,
            token=self.fake.token,
            artifacts=self.tmp / "artifacts",
            mlci_ref=self.ref,
            env={"PIP_CACHE_DIR": str(self.pip_cache)},
            extra=("--env", f"GITHUB_RUN_ID={4200 + self.runs}", *secrets),
        )


@contextmanager
def user_repository(
    repo: ExampleRepo, fake_github: FakeGitHub, wheel: Path, pip_cache: Path, tmp_path: Path
) -> Iterator[Scenario]:
    """The example project as a user's repository: origin served over HTTP, `mlci init`'s workflows
    committed on main (pinned to this checkout's commit, the package pointed at its wheel)."""
    server = GitHttpServer(tmp_path / "served").start()
    server.add(REPO, repo.origin)
    # act names the repository after a remote's URL; the jobs fetch and push through GITHUB_SERVER_URL
    repo.git("remote", "add", "github", f"https://github.com/{REPO}.git")
    ref = checkout_sha()
    config = (repo.root / "mlci.yaml").read_text()  # the project's own: keep it
    init = run_cli("init", "--ref", ref, "--force", cwd=repo.root)
    assert init.returncode == 0, init.stderr
    (repo.root / "mlci.yaml").write_text(config)
    for caller in (repo.root / ".github" / "workflows").glob("mlci-*.yml"):
        text = caller.read_text()
        caller.write_text(text.replace(f"git+https://github.com/mlci-dev/mlci@{ref}", str(wheel)))
    repo.commit("Add mlci's workflows")
    repo.git("push", "-q", "origin", "main")
    fake_github.artifacts_dir = tmp_path / "artifacts"
    try:
        yield Scenario(repo, fake_github, server, tmp_path, wheel, ref, pip_cache)
    finally:
        server.stop()
