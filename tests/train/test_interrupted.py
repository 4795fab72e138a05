"""`mlci train --commit` killed after DVC wrote the new `dvc.lock` and before the results commit (and
before `dvc push`): the work tree holds the new lock and metrics, origin the old lock with the new
params. The rerun in the same work tree commits and pushes them (it used to say "changed: no")."""

from __future__ import annotations

import json

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import ExampleRepo, run_cli


def test_a_rerun_commits_what_an_interrupted_run_left(example_repo: ExampleRepo) -> None:
    example_repo.set_param("train.n_estimators", 17)
    example_repo.commit("More trees")
    example_repo.git("push", "-q", "origin", "HEAD")
    # the state a run killed between DVC's lock write and the commit leaves: repro done, nothing pushed
    example_repo.dvc("repro")
    lock = (example_repo.root / "dvc.lock").read_text()
    assert git(example_repo.root, "status", "--porcelain", "--", "dvc.lock")  # uncommitted

    proc = run_cli("train", "--commit", cwd=example_repo.root)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed: yes" in proc.stdout and "committed" in proc.stdout, proc.stdout
    assert "interrupted run" in proc.stdout + proc.stderr
    assert git(example_repo.origin, "show", "main:dvc.lock") + "\n" == lock
    metrics = json.loads(git(example_repo.origin, "show", "main:metrics.json"))
    assert metrics == json.loads((example_repo.root / "metrics.json").read_text())
    status = example.dvc(example_repo.root, "status", "--cloud", "--json")
    assert "new" not in status and "missing" not in status, status  # the remote holds the results


def test_a_users_pending_edits_without_a_lock_change_stay_uncommitted(example_repo: ExampleRepo) -> None:
    (example_repo.root / "NOTES.md").write_text("mine\n")
    head = example_repo.head()

    proc = run_cli("train", "--commit", cwd=example_repo.root)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed: no" in proc.stdout
    assert example_repo.head() == head
