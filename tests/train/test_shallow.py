"""Shallow CI checkouts (`fetch-depth: 1`): `mlci affected` fetches what it compares with, deepens the
clone to the merge-base a pull request's diff starts from, and when `origin` cannot be reached says
the clone is shallow and how to check it out, never that `origin` lacks a commit it never asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.train import three_models


def _commit(root: Path, path: str, text: str, message: str) -> str:
    (root / path).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """main, a branch `pr` changing beta's script, then main moving on: alpha's script, twice."""
    work = three_models(tmp_path / "work")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(work, "push", "-q", str(bare), "main")
    git(work, "checkout", "-q", "-b", "pr")
    _commit(work, "src/train_beta.py", "print('beta v2')\n", "beta v2")
    git(work, "push", "-q", str(bare), "pr")
    git(work, "checkout", "-q", "main")
    for n in (2, 3):
        _commit(work, "src/train_alpha.py", f"print('alpha v{n}')\n", f"alpha v{n}")
    git(work, "push", "-q", str(bare), "main")
    return bare


def _shallow_clone(origin: Path, dest: Path, branch: str = "pr") -> Path:
    git(dest.parent, "clone", "-q", "--depth", "1", "--branch", branch, origin.as_uri(), str(dest))
    assert git(dest, "rev-parse", "--is-shallow-repository") == "true"
    return dest


def test_a_shallow_pr_checkout_compares_with_the_merge_base(origin: Path, tmp_path: Path) -> None:
    clone = _shallow_clone(origin, tmp_path / "runner")
    proc = run_cli("affected", "--base", "main", "--format", "json", cwd=clone)
    assert proc.returncode == 0, proc.stderr
    # main's own later change to alpha is not this branch's: only beta trains
    assert [m["model"] for m in json.loads(proc.stdout)["include"]] == ["beta"]


@pytest.mark.parametrize("command", ["affected", "report"])
def test_origin_unreachable_names_the_shallow_clone(origin: Path, tmp_path: Path, command: str) -> None:
    main = git(origin, "rev-parse", "main")
    clone = _shallow_clone(origin, tmp_path / "runner")
    git(clone, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = run_cli(command, "--base", main, cwd=clone)
    assert proc.returncode == 2, proc.stderr
    assert "shallow" in proc.stderr and "fetch-depth: 0" in proc.stderr
    assert "does not have it" not in proc.stderr  # it never got an answer from origin
    assert "could not be" in proc.stderr or "failed" in proc.stderr


def test_origin_reachable_without_the_commit_says_it_does_not_have_it(origin: Path, tmp_path: Path) -> None:
    clone = _shallow_clone(origin, tmp_path / "runner")
    proc = run_cli("affected", "--base", "no-such-branch", cwd=clone)
    assert proc.returncode == 2, proc.stderr
    assert "'origin' does not have it" in proc.stderr and "fetch-depth: 0" in proc.stderr


def test_a_shallow_checkout_origin_cannot_deepen_says_how_to_check_out(origin: Path, tmp_path: Path) -> None:
    clone = _shallow_clone(origin, tmp_path / "runner")
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main")  # the base is here, its history is not
    main = git(clone, "rev-parse", "FETCH_HEAD")
    git(clone, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = run_cli("affected", "--base", main, cwd=clone)
    assert proc.returncode == 2, proc.stderr
    assert "shallow" in proc.stderr and "fetch-depth: 0" in proc.stderr
