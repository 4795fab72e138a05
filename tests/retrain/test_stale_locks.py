"""A run killed while git updated a tracking ref leaves its lock: the rerun's fetch must not stop on it
(found by tests/reliability/test_fault_matrix_loop.py, a kill right after the branch was pushed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlci.repo.git import clear_tracking_locks
from mlci.retrain.branch import fetch_tips


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit(work: Path, message: str) -> None:
    git(
        work,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )


def clone_with_branches(tmp_path: Path) -> Path:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(work))
    commit(work, "x")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main", "HEAD:refs/heads/mlci/retrain/m")
    return work


def test_a_stale_tracking_ref_lock_does_not_stop_the_rerun(tmp_path: Path) -> None:
    work = clone_with_branches(tmp_path)
    lock = work / ".git" / "refs" / "remotes" / "origin" / "mlci" / "retrain" / "m.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")  # what a push killed mid-update leaves
    # origin's branch moves on (the rerun's fetch has a tracking ref to write)
    commit(work, "y")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/elsewhere")
    git(tmp_path / "origin.git", "update-ref", "refs/heads/mlci/retrain/m", git(work, "rev-parse", "HEAD"))
    refused = subprocess.run(
        ["git", "fetch", "-q", "origin", "+refs/heads/mlci/retrain/m:refs/remotes/origin/mlci/retrain/m"],
        cwd=work, capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode != 0 and "remove the file manually" in refused.stderr  # git itself stops
    tips = fetch_tips(work, "main", "mlci/retrain/m")
    assert tips.branch == git(work, "rev-parse", "refs/remotes/origin/mlci/retrain/m")
    assert not lock.exists()


def test_only_the_named_tracking_refs_locks_are_removed(tmp_path: Path) -> None:
    work = clone_with_branches(tmp_path)
    remotes = work / ".git" / "refs" / "remotes" / "origin"
    remotes.mkdir(parents=True, exist_ok=True)
    (remotes / "main.lock").write_text("")
    (remotes / "other.lock").write_text("")
    index = work / ".git" / "index.lock"
    index.write_text("")
    assert clear_tracking_locks(work, "origin", ["main", "absent"]) == ["refs/remotes/origin/main"]
    assert (remotes / "other.lock").exists() and index.exists()  # never a lock mlci did not name
