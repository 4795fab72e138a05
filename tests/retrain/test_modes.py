"""The other ways to update training data: `dvc update` of imported data, and a user's command."""

from __future__ import annotations

from pathlib import Path

from mlci.onboarding import example
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo
from tests.testing.retrain import (
    BRANCH,
    commits_ahead,
    configure,
    data_on_branch,
    drifted_rows,
    monitor_report,
    online_env,
    origin_sha,
    pointer_at,
    remote_object,
    retrain,
    write_fresh,
)


def test_update_mode_brings_in_the_new_version_of_imported_data(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    source = tmp_path / "warehouse" / "labels.csv"
    source.parent.mkdir()
    example.raw_frame().head(300).to_csv(source, index=False)
    example_repo.dvc("import-url", str(source), "data/labels.csv")
    configure(example_repo, mode="update", dataset="data/labels.csv")  # commits the import too

    before = retrain(example_repo, "classifier", env=online_env(fake_github))
    assert before.returncode == 0, before.stderr
    assert "already has this data" in before.stdout and origin_sha(example_repo) == ""

    example.raw_frame().head(350).to_csv(source, index=False)  # the warehouse got 50 labelled rows
    proc = retrain(example_repo, "classifier", env=online_env(fake_github))
    again = retrain(example_repo, "classifier", env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert again.returncode == 0, again.stderr
    pointer = pointer_at(example_repo, BRANCH, "data/labels.csv.dvc")
    assert pointer["md5"] != pointer_at(example_repo, "main", "data/labels.csv.dvc")["md5"]
    assert len(remote_object(example_repo, pointer["md5"]).read_text().splitlines()) == 351
    assert commits_ahead(example_repo) == 1 and len(fake_github.pulls) == 1


def test_command_mode_runs_the_users_command_with_the_fresh_data(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    configure(example_repo, mode="command", command='tail -n +2 "$MLCI_FRESH_DATA" >> "$MLCI_DATASET"')
    fresh = drifted_rows(15)

    proc = retrain(example_repo, "--data", str(write_fresh(tmp_path, fresh)), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert len(data_on_branch(example_repo)) == len(example.raw_frame()) + 15
    assert len(fake_github.pulls) == 1


def test_a_report_that_needs_no_retraining_changes_nothing(
    example_repo: ExampleRepo, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    report = monitor_report(tmp_path, [write_fresh(tmp_path, drifted_rows(5))], retrain_needed=False)

    proc = retrain(example_repo, "--from-report", str(report), env=online_env(fake_github))

    assert proc.returncode == 0, proc.stderr
    assert "no retraining is needed" in proc.stdout
    assert origin_sha(example_repo) == "" and fake_github.requests == []


def test_bad_input_is_a_usage_error_before_anything_is_fetched(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    broken = tmp_path / "report.json"
    broken.write_text("{not json")
    no_paths = monitor_report(tmp_path, [])
    cases = {
        ("--from-report", str(broken)): "report.json: invalid JSON at line 1, column 2",
        ("--data", str(tmp_path / "missing.csv")): "fresh data not found",
        ("--from-report", str(no_paths)): "no fresh data to retrain on",
    }
    for args, expected in cases.items():
        proc = retrain(example_repo, *args)

        assert proc.returncode == 2, args
        assert expected in proc.stderr and "hint:" in proc.stderr
    assert example_repo.git("for-each-ref", "refs/remotes/origin/mlci") == ""
