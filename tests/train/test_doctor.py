"""`mlci doctor` on a local-folder DVC remote: fine on this machine, useless on a GitHub-hosted runner.

A warning in CI (`GITHUB_ACTIONS=true`), a note elsewhere; both name the fix (a cloud remote or a
self-hosted runner). A folder inside the repository, or a remote mlci does not use, gets neither.
"""

from __future__ import annotations

import json

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow  # a DVC repository per test

CI = {"GITHUB_ACTIONS": "true"}


def _doctor(repo: ExampleRepo, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    done = run_cli("doctor", "--format", "json", cwd=repo.root, env=env)
    assert done.returncode == 0, done.stderr  # a warning, not a failure
    (remote,) = [r for r in json.loads(done.stdout)["remotes"] if r["name"] == "storage"]
    return {"warnings": remote["warnings"], "notes": remote["notes"]}


def test_a_folder_beside_the_repository_is_a_warning_in_ci_and_a_note_here(example_repo: ExampleRepo) -> None:
    folder = str(example_repo.remote.resolve())

    here = run_cli("doctor", cwd=example_repo.root)
    in_ci = run_cli("doctor", cwd=example_repo.root, env=CI)

    assert here.returncode == 0 and in_ci.returncode == 0, here.stderr + in_ci.stderr
    (note,) = [ln for ln in here.stdout.splitlines() if ln.strip().startswith("note:")]
    (warning,) = [ln for ln in in_ci.stdout.splitlines() if ln.strip().startswith("warning:")]
    assert "warning:" not in here.stdout and "note:" not in in_ci.stdout
    for line in (note, warning):
        assert "remote 'storage' is a folder on this machine" in line and folder in line
        assert "cloud remote" in line and "self-hosted runner" in line
    assert _doctor(example_repo, CI)["warnings"] == [warning.split("warning: ", 1)[1]]


def test_a_relative_folder_outside_the_repository_counts_too(example_repo: ExampleRepo) -> None:
    # as the user types it, relative to the repository; DVC stores it relative to .dvc/
    example_repo.dvc("remote", "add", "-f", "-d", "storage", "../elsewhere/store")
    assert "../../elsewhere/store" in (example_repo.root / ".dvc" / "config").read_text()
    found = _doctor(example_repo, CI)
    (warning,) = found["warnings"]
    assert str((example_repo.root.parent / "elsewhere" / "store").resolve()) in warning


def test_a_folder_inside_the_repository_or_a_remote_mlci_does_not_use_is_not_flagged(
    example_repo: ExampleRepo,
) -> None:
    example_repo.dvc("remote", "add", "-f", "-d", "storage", "dvc-store")  # inside the repository
    assert _doctor(example_repo, CI) == {"warnings": [], "notes": []}
    example_repo.dvc("remote", "add", "-d", "cloud", "s3://models-bucket/dvc")
    example_repo.dvc("remote", "modify", "storage", "url", str(example_repo.remote))
    assert _doctor(example_repo, CI) == {"warnings": [], "notes": []}  # storage is not the default now
