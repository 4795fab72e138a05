"""Stages run in the project's environment (docs/architecture.md, "Two environments"): with
MLCI_PROJECT_ENV set, as the install step sets it, DVC runs from mlci's environment and each stage's
`python` is the project's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow


def _project_env(folder: Path) -> Path:
    """A project environment whose `python` logs each call (then runs this interpreter: the example's
    stages need pandas and scikit-learn)."""
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(
        f'#!/bin/sh\necho "$VIRTUAL_ENV $*" >> "{folder}/calls"\nexec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)
    return folder


def test_the_stages_run_with_the_project_environments_python(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    env = _project_env(tmp_path / "project-env")
    example_repo.set_param("train.n_estimators", 23)

    done = run_cli("train", "--no-commit", cwd=example_repo.root, env={"MLCI_PROJECT_ENV": str(env)})

    assert done.returncode == 0, done.stderr
    calls = (env / "calls").read_text().splitlines()
    assert f"{env} src/train.py" in calls and f"{env} src/evaluate.py" in calls


def test_a_project_environment_that_is_not_there_is_an_error_naming_it(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    example_repo.set_param("train.n_estimators", 24)
    gone = tmp_path / "gone"

    done = run_cli("train", "--no-commit", cwd=example_repo.root, env={"MLCI_PROJECT_ENV": str(gone)})

    assert done.returncode == 2
    assert f"MLCI_PROJECT_ENV={gone} is not a Python environment" in done.stderr
