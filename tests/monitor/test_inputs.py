"""`mlci monitor`'s inputs: two files need no repository, and every input problem is said at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.repo.git import git
from tests.testing.fixtures import run_cli

CSV = "amount,channel\n1.5,web\n2.5,app\n3.0,web\n4.0,app\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.csv").write_text(CSV)
    (folder / "b.csv").write_text(CSV)
    return folder


def test_two_files_are_compared_outside_any_git_repository(files: Path) -> None:
    proc = run_cli(
        "monitor", "--debug", "--reference", "a.csv", "--current", "b.csv", "--format", "json", cwd=files
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dataset"]["drifted_columns"] == []
    assert "not in a git repository" in " ".join(report["notes"])
    assert sorted(p.name for p in files.iterdir()) == ["a.csv", "b.csv"]  # no cache left behind
    markdown = run_cli("monitor", "--reference", "a.csv", "--current", "b.csv", cwd=files)
    assert markdown.returncode == 0, markdown.stderr
    assert "| Production | none: the files are compared, no model |" in markdown.stdout


def test_a_repository_without_commits_says_so_or_compares_the_files(files: Path) -> None:
    git(files, "init", "-q")
    (files / "mlci.yaml").write_text("models:\n  churn:\n    data: a.csv\n    path: model.pkl\n")
    proc = run_cli("monitor", "--current", "b.csv", cwd=files)
    assert proc.returncode == 2
    assert "error: this git repository has no commits yet" in proc.stderr
    assert "hint: commit the project first" in proc.stderr
    assert "usage" not in proc.stderr.lower()  # not git's usage text
    compared = run_cli("monitor", "--reference", "a.csv", "--current", "b.csv", cwd=files)
    assert compared.returncode == 0, compared.stderr
    assert "no commit to read the model at" in compared.stdout


def test_every_input_problem_is_reported_at_once(files: Path) -> None:
    (files / "mlci.yaml").write_text("models:\n  churn:\n    data: a.csv\n    path: model.pkl\n")
    proc = run_cli("monitor", "regressor", "--current", "missing.csv", "--reference", "gone.csv", cwd=files)
    assert proc.returncode == 2
    assert "3 problems with the inputs" in proc.stderr
    assert "no model named 'regressor'" in proc.stderr
    assert "no data at missing.csv (--current)" in proc.stderr
    assert "--reference 'gone.csv' is neither a data file" in proc.stderr
    outside = run_cli("monitor", "--current", "b.csv", "--reference", "a.csv", "--open-pr", cwd=files)
    assert outside.returncode == 2
    assert "is not inside a git repository: --open-pr" in outside.stderr


def test_the_headline_names_missing_columns_and_too_few_rows(files: Path) -> None:
    """A feed that lost a column and sent one row is not "no drift": the headline says both."""
    (files / "b.csv").write_text("amount\n2.0\n")
    proc = run_cli("monitor", "--reference", "a.csv", "--current", "b.csv", cwd=files)
    assert proc.returncode == 0, proc.stderr
    headline = proc.stdout.splitlines()[1:3]
    assert headline[0] == "> [!NOTE]", proc.stdout  # not the all-clear tip
    assert "1 column missing from the current data \\(channel\\)" in headline[1]
    assert "only 1 current row: too few to tell drift from noise" in headline[1]
    assert "| Current | `b.csv`: 1 row |" in proc.stdout
    document = json.loads(
        run_cli("monitor", "--reference", "a.csv", "--current", "b.csv", "--format", "json", cwd=files).stdout
    )
    assert document["few_rows"] is True and document["summary"].endswith("→ no retraining needed")
