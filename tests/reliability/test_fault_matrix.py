"""The fault matrix (docs/reliability.md, "Interrupted runs"): `mlci train --commit` and `mlci deploy`
killed (SIGKILL, the whole process group) at a step boundary, seen from outside as the step's effect
appearing (DVC's new `dvc.lock`, the remote's new objects, the moved HEAD; the version tag on origin,
the target's `current`), then run once more. Wherever the kill lands, the one rerun reaches the
invariants: origin's `dvc.lock` and metrics match the run's, the DVC remote holds every output; one
version tag, one stage tag on it, `current` at that version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import ExampleRepo, run_cli

Probe = Callable[[ExampleRepo], bool]


def kill_when(
    repo: ExampleRepo, args: list[str], reached: Probe, limit: float = 240, env: dict[str, str] | None = None
) -> int | None:
    """Run the CLI (the test's environment plus `env`); SIGKILL its process group as soon as `reached`
    holds. Its exit code when it ended first (the boundary was never seen), else None."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlci", *args],
        cwd=repo.root,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if reached(repo):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        time.sleep(0.005)
    return proc.wait(timeout=5)


def _objects(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def train_boundaries(repo: ExampleRepo) -> dict[str, Probe]:
    lock = repo.root / "dvc.lock"
    lock_before, objects_before, head_before = lock.read_text(), _objects(repo.remote), repo.head()
    return {
        "dvc.lock written": lambda r: lock.read_text() != lock_before,
        "remote objects pushed": lambda r: _objects(r.remote) > objects_before,
        "results committed": lambda r: r.head() != head_before,
    }


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["dvc.lock written", "remote objects pushed", "results committed"])
def test_train_commit_killed_at_a_boundary_is_repaired_by_one_rerun(
    example_repo: ExampleRepo, boundary: str
) -> None:
    example_repo.set_param("train.n_estimators", 23)
    example_repo.commit("More trees")
    example_repo.git("push", "-q", "origin", "HEAD")
    probe = train_boundaries(example_repo)[boundary]

    kill_when(example_repo, ["train", "--commit"], probe)
    rerun = run_cli("train", "--commit", cwd=example_repo.root)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lock = (example_repo.root / "dvc.lock").read_text()
    assert git(example_repo.origin, "show", "main:dvc.lock") + "\n" == lock  # origin: the run's lock
    assert (
        git(example_repo.origin, "show", "main:metrics.json")
        == (example_repo.root / "metrics.json").read_text().strip()
    )
    assert "n_estimators: 23" in git(example_repo.origin, "show", "main:params.yaml")
    status = example.dvc(example_repo.root, "status", "--cloud", "--json")
    assert "new" not in status and "missing" not in status, status
    assert git(example_repo.root, "status", "--porcelain", "--untracked-files=no") == ""


def deploy_boundaries(repo: ExampleRepo) -> dict[str, Probe]:
    current = repo.root / ".mlci" / "deployments" / "classifier" / "current"
    return {
        "version tag pushed": lambda r: "classifier@" in git(r.origin, "tag", "--list"),
        "delivered": lambda r: current.exists(),
    }


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["version tag pushed", "delivered"])
def test_deploy_killed_at_a_boundary_is_repaired_by_one_rerun(
    example_repo: ExampleRepo, boundary: str
) -> None:
    probe = deploy_boundaries(example_repo)[boundary]

    kill_when(example_repo, ["deploy", "classifier"], probe)
    rerun = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    tags = git(example_repo.origin, "tag", "--list").split()
    versions = [t for t in tags if t.startswith("classifier@")]
    stages = [t for t in tags if t.startswith("classifier#prod#")]
    assert len(versions) == 1 and len(stages) == 1, tags
    assert git(example_repo.origin, "rev-list", "-n1", versions[0]) == git(
        example_repo.origin, "rev-list", "-n1", stages[0]
    )
    current = example_repo.root / ".mlci" / "deployments" / "classifier" / "current"
    assert os.path.basename(os.readlink(current)) == versions[0].split("@")[1]
