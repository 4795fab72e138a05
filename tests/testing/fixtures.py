"""Shared fixtures: an isolated home, real git + DVC repos of the example project, the CLI as a
workflow step runs it, and real GitHub event payloads. The fake GitHub server is in
tests/testing/github_fixtures.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlci.onboarding import example
from mlci.repo.git import git

pytest_plugins = ["tests.testing.github_fixtures"]

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "tests" / "events"


def _isolate(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = mlci tests\n\temail = tests@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    env = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    return env


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's home, git identity, GitHub variables or tokens."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "RUNNER_", "MLCI_", "INPUT_", "MLFLOW_")) or name in (
            "GH_TOKEN",
            "CI",
        ):
            monkeypatch.delenv(name, raising=False)
    for name, value in _isolate(tmp_path_factory.mktemp("home")).items():
        monkeypatch.setenv(name, value)


@dataclass
class ExampleRepo:
    """A clone of the example project with its bare `origin` and local DVC remote beside it."""

    root: Path
    origin: Path
    remote: Path

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def dvc(self, *args: str) -> str:
        return example.dvc(self.root, *args)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def set_param(self, dotted: str, value: Any) -> None:
        import yaml

        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        *parents, leaf = dotted.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def retrain(self, message: str = "Retrain") -> str:
        """dvc repro, commit, push data and code: what `mlci train` does in CI."""
        example.train_and_publish(self.root, message)
        return self.head()


@pytest.fixture(scope="session")
def _example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session (about 10 s): the example, trained on main and pushed."""
    base = tmp_path_factory.mktemp("example-template")
    saved = dict(os.environ)
    os.environ.update(_isolate(base / "home"))
    try:
        root = base / "work"
        root.mkdir()
        example.write_project(root)
        example.init_repo(root, base / "dvc-remote", base / "origin.git")
        example.train_and_publish(root, "Train the model")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return base


@pytest.fixture
def example_repo(_example_template: Path, tmp_path: Path) -> ExampleRepo:
    """A fresh copy of the trained example: change it freely."""
    base = tmp_path / "project"
    shutil.copytree(_example_template, base, symlinks=True, ignore=shutil.ignore_patterns("home"))
    repo = ExampleRepo(root=base / "work", origin=base / "origin.git", remote=base / "dvc-remote")
    repo.git("remote", "set-url", "origin", str(repo.origin))
    repo.dvc("remote", "modify", "storage", "url", str(repo.remote))
    repo.git("add", "-A")
    if repo.git("status", "--porcelain"):
        repo.git("commit", "-q", "-m", "Point the DVC remote at this copy")
        repo.git("push", "-q", "origin", "HEAD")
    return repo


# --- running the CLI as a workflow step does ----------------------------------------------------


def run_cli(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m mlci ARGS` in a subprocess, with the test's environment plus `env`."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mlci", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def load_event(name: str) -> dict[str, Any]:
    """A webhook payload from `tests/events/` (e.g. `pull_request/opened`, `push/branch`), written for
    mlci's tests after GitHub's documented webhook schema: octo-org/models, default branch `main`."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return data


def actions_env(tmp: Path, event_name: str, payload: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment the Actions runner gives a step: event file, outputs and summary files."""
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(payload))
    for name in ("output", "summary"):
        (tmp / name).touch()
    repo = payload.get("repository", {}).get("full_name", "octo/repo")
    env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "mlci",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
    }
    env.update(extra)
    return env


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file as the runner does (name<<DELIM ... DELIM, or name=value)."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs
