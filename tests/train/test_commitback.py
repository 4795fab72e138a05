"""Committing results back: two matrix jobs pushing to one branch, on real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlci.repo.git import git
from mlci.train.commitback import changed_paths, commit_and_push, merge_lock

LOCK = {
    "schema": "2.0",
    "stages": {
        "prepare": {"cmd": "python prepare.py", "outs": [{"path": "data", "md5": "p0"}]},
        "train_alpha": {"cmd": "python a.py", "outs": [{"path": "a.pkl", "md5": "a0"}]},
        "train_beta": {"cmd": "python b.py", "outs": [{"path": "b.pkl", "md5": "b0"}]},
    },
}


def _lock_with(**md5s: str) -> str:
    data = yaml.safe_load(yaml.safe_dump(LOCK))
    for stage, md5 in md5s.items():
        data["stages"][stage]["outs"][0]["md5"] = md5
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "feature")
    (seed / "dvc.lock").write_text(_lock_with())
    (seed / "metrics").mkdir()
    for name in ("alpha", "beta"):
        (seed / "metrics" / f"{name}.json").write_text('{"acc": 0.5}\n')
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "start")
    git(seed, "push", "-q", str(bare), "feature")
    return bare


def _clone(origin: Path, name: str) -> Path:
    dest = origin.parent / name
    git(origin.parent, "clone", "-q", "-b", "feature", str(origin), str(dest))
    return dest


def _job(root: Path, model: str, md5: str) -> list[str]:
    """What one matrix job's training leaves in its work tree."""
    (root / "metrics" / f"{model}.json").write_text(f'{{"acc": 0.9, "model": "{model}"}}\n')
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    lock["stages"][f"train_{model}"]["outs"][0]["md5"] = md5
    (root / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    return changed_paths(root, ["dvc.lock", f"metrics/{model}.json"])


def test_two_jobs_commit_to_one_branch_and_both_results_land(origin: Path) -> None:
    a, b = _clone(origin, "job-a"), _clone(origin, "job-b")
    files_a, files_b = _job(a, "alpha", "a1"), _job(b, "beta", "b1")
    assert files_a == ["dvc.lock", "metrics/alpha.json"]
    first = commit_and_push(a, files_a, message="mlci: results", branch="feature", stages=["train_alpha"])
    second = commit_and_push(b, files_b, message="mlci: results", branch="feature", stages=["train_beta"])
    assert first.sha and second.sha
    tip = git(origin, "rev-parse", "feature")
    assert tip == second.sha
    lock = yaml.safe_load(git(origin, "show", "feature:dvc.lock"))
    assert lock["stages"]["train_alpha"]["outs"][0]["md5"] == "a1"
    assert lock["stages"]["train_beta"]["outs"][0]["md5"] == "b1"
    assert '"model": "alpha"' in git(origin, "show", "feature:metrics/alpha.json")
    assert '"model": "beta"' in git(origin, "show", "feature:metrics/beta.json")
    assert git(origin, "log", "--format=%s", "feature").splitlines() == ["mlci: results"] * 2 + ["start"]


def test_stale_results_are_not_committed_over_new_code(origin: Path) -> None:
    a, b = _clone(origin, "dev"), _clone(origin, "job")
    (a / "train.py").write_text("print('new code')\n")
    git(a, "add", "train.py")
    git(a, "commit", "-q", "-m", "new code")
    git(a, "push", "-q", "origin", "feature")
    warnings: list[str] = []
    files = _job(b, "beta", "b1")
    result = commit_and_push(
        b, files, message="results", branch="feature", stages=["train_beta"], warn=warnings.append
    )
    assert result.sha == "" and result.note == "branch moved on"
    assert git(origin, "log", "-1", "--format=%s", "feature") == "new code"
    assert "new commits since this run started" in warnings[0]
    assert git(b, "status", "--porcelain")  # the job's results are still in its work tree


def test_nothing_changed_commits_nothing(origin: Path) -> None:
    job = _clone(origin, "job")
    assert changed_paths(job, ["dvc.lock", "metrics/alpha.json"]) == []
    result = commit_and_push(job, [], message="results", branch="feature", stages=[])
    assert result.sha == "" and git(origin, "log", "--format=%s", "feature") == "start"


def test_merge_lock_takes_only_our_stages() -> None:
    theirs = _lock_with(train_alpha="a1", prepare="p1")
    ours = _lock_with(train_beta="b1")
    merged = yaml.safe_load(merge_lock(theirs, ours, ["train_beta"]))
    md5 = {name: entry["outs"][0]["md5"] for name, entry in merged["stages"].items()}
    assert md5 == {"prepare": "p1", "train_alpha": "a1", "train_beta": "b1"}
