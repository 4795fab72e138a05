"""The fault matrix, continued (docs/reliability.md, "Interrupted runs"): `mlci rollback`, `mlci retrain`
and `mlci report` killed (SIGKILL, the whole process group) at each step boundary, and `mlci deploy` killed
mid-upload (its staging copy half made), then run once more — a re-run of the same workflow run
(`GITHUB_RUN_ID` unchanged). The invariants of docs/reliability.md hold after that one rerun."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlci.repo.git import git
from tests.reliability.test_fault_matrix import _objects, kill_when
from tests.report.test_cli import PR, feature_branch, github_env, pr_payload
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.retrain import BRANCH, commits_ahead, drifted_rows, monitor_report, online_env, write_fresh

pytestmark = pytest.mark.slow

Probe = Callable[[ExampleRepo], bool]
STORE = Path(".mlci") / "deployments" / "classifier"
RERUN = {"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1"}  # the rerun keeps the run's id


def _live(repo: ExampleRepo) -> str:
    current = repo.root / STORE / "current"
    return os.readlink(current) if current.is_symlink() else ""


def _prod_tags(repo: ExampleRepo) -> dict[str, str]:
    tags = git(repo.origin, "tag", "--list", "classifier#prod#*").split()
    return {t: git(repo.origin, "rev-list", "-n1", t) for t in tags}


@pytest.fixture
def two_deployed(example_repo: ExampleRepo) -> tuple[ExampleRepo, str, bytes]:
    """v0.0.1 then v0.0.2 deployed to prod (offline: the local target and the outbox)."""
    repo = example_repo
    first = repo.head()
    assert run_cli("deploy", "classifier", cwd=repo.root).returncode == 0
    v1 = (repo.root / STORE / "v0.0.1" / "model.pkl").read_bytes()
    repo.set_param("train.n_estimators", 61)
    repo.retrain("More trees")
    assert run_cli("deploy", "classifier", cwd=repo.root).returncode == 0
    assert _live(repo) == "v0.0.2"
    return repo, first, v1


@pytest.mark.parametrize("boundary", ["stage tag pushed", "switched"])
def test_rollback_killed_at_a_boundary_is_finished_by_one_rerun(
    two_deployed: tuple[ExampleRepo, str, bytes], boundary: str
) -> None:
    repo, first, v1 = two_deployed
    probes: dict[str, Probe] = {
        "stage tag pushed": lambda r: len(_prod_tags(r)) == 3,
        "switched": lambda r: _live(r) == "v0.0.1",
    }

    kill_when(repo, ["rollback", "classifier"], probes[boundary], env=RERUN)
    rerun = run_cli("rollback", "classifier", cwd=repo.root, env=RERUN)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _live(repo) == "v0.0.1"  # the rollback asked for, not a second one back to v0.0.2
    assert (repo.root / STORE / "current" / "model.pkl").read_bytes() == v1
    tags = _prod_tags(repo)
    assert len(tags) == 3 and tags["classifier#prod#3"] == first, tags


def test_deploy_killed_mid_upload_is_repaired_by_one_rerun(example_repo: ExampleRepo) -> None:
    store = example_repo.root / STORE

    def uploading(r: ExampleRepo) -> bool:
        return store.is_dir() and any(p.name.startswith(".v0.0.1.") for p in store.iterdir())

    kill_when(example_repo, ["deploy", "classifier"], uploading)
    rerun = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _live(example_repo) == "v0.0.1"
    assert [p.name for p in store.iterdir() if p.name.startswith(".v0.0.1.")] == []  # no half copy left
    assert len(_prod_tags(example_repo)) == 1


@pytest.mark.parametrize("boundary", ["data pushed", "branch pushed", "pull request opened"])
def test_retrain_killed_at_a_boundary_is_completed_by_one_rerun(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path, boundary: str
) -> None:
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(30))])
    objects = _objects(example_repo.remote)
    probes: dict[str, Probe] = {
        "data pushed": lambda r: _objects(r.remote) > objects,
        "branch pushed": lambda r: bool(git(r.origin, "branch", "--list", BRANCH)),
        "pull request opened": lambda r: bool(fake_github.pulls),
    }
    env = {**online_env(fake_github), **RERUN}

    kill_when(example_repo, ["retrain", "--from-report", str(report)], probes[boundary], env=env)
    rerun = run_cli("retrain", "--from-report", str(report), cwd=example_repo.root, env=env)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert [p["state"] for p in fake_github.pulls] == ["open"]
    assert commits_ahead(example_repo) == 1
    status = run_dvc_status(example_repo, BRANCH)
    assert "new" not in status and "missing" not in status, status


def run_dvc_status(repo: ExampleRepo, branch: str) -> str:
    """`dvc status --cloud` of the branch's commit, in a clone of origin: its data is in the remote."""
    clone = repo.root.parent / "status-clone"
    if not clone.exists():
        git(repo.root.parent, "clone", "-q", "--branch", branch, str(repo.origin), str(clone))
    local = repo.root / ".dvc" / "config.local"
    if local.exists():
        (clone / ".dvc" / "config.local").write_text(local.read_text())
    from mlci.onboarding import example

    return example.dvc(clone, "status", "--cloud", "--json")


@pytest.mark.parametrize("boundary", ["check run created", "comment posted"])
def test_report_killed_at_a_boundary_leaves_one_comment_after_one_rerun(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path, boundary: str
) -> None:
    base, head = feature_branch(example_repo)
    env: dict[str, Any] = {
        **github_env(tmp_path, fake_github, pr_payload(fake_github.repository, base, head)),
        **RERUN,
    }
    probes: dict[str, Probe] = {
        "check run created": lambda r: bool(fake_github.check_runs),
        "comment posted": lambda r: bool(fake_github.comments.get(PR)),
    }

    kill_when(example_repo, ["report"], probes[boundary], env=env)
    rerun = run_cli("report", cwd=example_repo.root, env=env)

    assert rerun.returncode in (0, 1), rerun.stdout + rerun.stderr  # 1: a gate failed, as it may
    assert len(fake_github.comments.get(PR, [])) == 1
    runs = [r for r in fake_github.check_runs.values() if r["head_sha"] == head]
    assert runs and all(r["status"] == "completed" for r in runs), runs
