"""A user's repository for the workflow scenarios (tests/workflows/): the example project with its
bare origin served over git's smart HTTP protocol, the fake GitHub, and one call to run a workflow of
it on the Actions runner (tests/testing/runner.py). The fixtures that build it are in
tests/workflows/conftest.py."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.repo.git import git
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ROOT, ExampleRepo, run_cli
from tests.testing.git_http import GitHttpServer
from tests.testing.runner import RunResult, checkout_sha, event_file, run_workflow

REPO = "octo-org/models"


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
def served(
    repo: ExampleRepo, fake_github: FakeGitHub, wheel: Path, pip_cache: Path, tmp_path: Path
) -> Iterator[Scenario]:
    """The example project as a user's repository, its origin served over HTTP; no workflow yet."""
    server = GitHttpServer(tmp_path / "served").start()
    server.add(REPO, repo.origin)
    # act names the repository after a remote's URL; the jobs fetch and push through GITHUB_SERVER_URL
    repo.git("remote", "add", "github", f"https://github.com/{REPO}.git")
    fake_github.artifacts_dir = tmp_path / "artifacts"
    try:
        yield Scenario(repo, fake_github, server, tmp_path, wheel, checkout_sha(), pip_cache)
    finally:
        server.stop()


def commit_callers(s: Scenario) -> Scenario:
    """`mlci init`'s workflows committed on main and pushed: pinned to this checkout's commit, the
    package pointed at its wheel, the project's own mlci.yaml kept."""
    repo, ref = s.repo, s.ref
    config = (repo.root / "mlci.yaml").read_text()
    init = run_cli("init", "--ref", ref, "--force", cwd=repo.root)
    assert init.returncode == 0, init.stderr
    (repo.root / "mlci.yaml").write_text(config)
    for caller in (repo.root / ".github" / "workflows").glob("mlci-*.yml"):
        text = caller.read_text()
        caller.write_text(text.replace(f"git+https://github.com/mlci-dev/mlci@{ref}", str(s.wheel)))
    repo.commit("Add mlci's workflows")
    repo.git("push", "-q", "origin", "main")
    return s


@contextmanager
def user_repository(
    repo: ExampleRepo, fake_github: FakeGitHub, wheel: Path, pip_cache: Path, tmp_path: Path
) -> Iterator[Scenario]:
    """The served user's repository with `mlci init`'s callers (for tests that change the project first)."""
    with served(repo, fake_github, wheel, pip_cache, tmp_path) as s:
        yield commit_callers(s)


def open_pull_request(
    s: Scenario, branch: str, trees: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """A PR branch that changes a param, trained and pushed (with `env` set: the author's credentials);
    the PR opened on the fake GitHub."""
    s.repo.git("checkout", "-q", "-b", branch)
    s.repo.set_param("train.n_estimators", trees)
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        s.repo.retrain(f"Use {trees} trees")  # dvc repro + commit + push, as the author would
    finally:
        os.environ.clear()
        os.environ.update(saved)
    head, base = s.repo.head(), git(s.repo.root, "rev-parse", "main")
    s.fake.refs[f"refs/heads/{branch}"] = head
    from mlci.github.client import GitHubClient

    pull = GitHubClient(s.fake.token, REPO, s.fake.url).create_pull(f"Use {trees} trees", branch, "main", "")
    pr = {
        "number": pull["number"],
        "head": {"sha": head, "ref": branch, "repo": {"full_name": REPO, "fork": False}},
        "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},
    }
    return {"action": "synchronize", "number": pull["number"], "pull_request": pr}


def comments(s: Scenario, number: int) -> list[str]:
    return [c["body"] for c in s.fake.comments.get(number, [])]


def documented_workflow(ref: str) -> str:
    """docs/action.md's workflow file, as a user copies it, with the action pinned to `ref`."""
    doc = (ROOT / "docs" / "action.md").read_text()
    block = re.search(r"<!-- mlci:action-workflow -->\n```yaml\n(.*?)```", doc, re.S)
    assert block, "docs/action.md lost its marked workflow"
    text = block.group(1)
    assert text.count("OWNER/mlci@<full SHA> # vX.Y.Z") == 3
    return text.replace("OWNER/mlci@<full SHA> # vX.Y.Z", f"mlci-dev/mlci@{ref}")


def deploy_and_decay(s: Scenario) -> int:
    """Deploy the model (v0.0.1 in prod, tags in origin), then write fresh labelled data it now gets
    wrong (30 % of the test split's labels flipped) as data/fresh/week-48.csv, not committed; its rows."""
    import pandas as pd

    deployed = run_cli("deploy", cwd=s.repo.root)
    assert deployed.returncode == 0, deployed.stderr
    frame = pd.read_csv(s.repo.root / "data/prepared/test.csv")
    cut = int(len(frame) * 0.3)
    frame.loc[: cut - 1, "target"] = 1 - frame.loc[: cut - 1, "target"]
    (s.repo.root / "data/fresh").mkdir()
    frame.to_csv(s.repo.root / "data/fresh/week-48.csv", index=False)
    return len(frame)
