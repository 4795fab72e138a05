"""The production model scored in the project's environment (MLCI_PROJECT_ENV, as the install step sets
it): a model whose class only the project's environment can import is unpickled and scored there, and
the decay metrics are those `dvc metrics show` recorded."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.slow

WRAPPER = '''
class Wrapped:
    """The project's own model class: importable in the project's environment only."""

    def __init__(self, inner):
        self.inner = inner
        self.classes_ = inner.classes_
        self.feature_names_in_ = inner.feature_names_in_

    def predict(self, frame):
        return self.inner.predict(frame)

    def predict_proba(self, frame):
        return self.inner.predict_proba(frame)
'''


def _project_env(folder: Path, code: Path) -> Path:
    """A project environment whose `python` logs each call and sees the project's code."""
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(
        f'#!/bin/sh\necho "$*" >> "{folder}/calls"\nPYTHONPATH="{code}" exec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)
    return folder


def _wrap_the_model(repo: ExampleRepo, code: Path) -> None:
    (code / "projmodels.py").write_text(WRAPPER)
    sys.path.insert(0, str(code))
    try:
        import projmodels

        path = repo.root / "models" / "model.pkl"
        inner = pickle.loads(path.read_bytes())
        path.unlink()  # a DVC output is a link into the cache: write a new file
        path.write_bytes(pickle.dumps(projmodels.Wrapped(inner)))
    finally:
        sys.path.remove(str(code))
        sys.modules.pop("projmodels", None)
    repo.dvc("commit", "-f", "-q", "train")
    repo.commit("The project's own model class")


def test_a_model_only_the_projects_environment_can_load_is_scored_there(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    code = tmp_path / "project-code"
    code.mkdir()
    _wrap_the_model(example_repo, code)
    args = ("monitor", "classifier", "--current", "data/prepared/test.csv", "--format", "json")

    in_mlci = run_cli(*args, cwd=example_repo.root)
    env = _project_env(tmp_path / "project-env", code)
    in_project = run_cli(*args, cwd=example_repo.root, env={"MLCI_PROJECT_ENV": str(env)})

    assert in_mlci.returncode == 2 and "No module named 'projmodels'" in in_mlci.stderr
    assert in_project.returncode == 0, in_project.stderr
    assert "_scorer.py" in (env / "calls").read_text()
    report = json.loads(in_project.stdout)
    recorded = json.loads(example_repo.dvc("metrics", "show", "--json"))
    values = next(iter(recorded.values()))["data"]["metrics.json"]["data"]["test"]
    computed = {m["key"]: m["current"] for m in report["decay"]["metrics"]}
    assert computed == pytest.approx({f"test.{k}": v for k, v in values.items()})


def test_a_model_the_projects_environment_cannot_load_names_that_environment(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    code = tmp_path / "project-code"
    code.mkdir()
    _wrap_the_model(example_repo, code)
    env = _project_env(tmp_path / "project-env", tmp_path / "elsewhere")  # the class is not there

    done = run_cli(
        "monitor",
        "classifier",
        "--current",
        "data/prepared/test.csv",
        cwd=example_repo.root,
        env={"MLCI_PROJECT_ENV": str(env)},
    )

    assert done.returncode == 2
    assert (
        "cannot load the model models/model.pkl" in done.stderr
        and "in the project's environment" in done.stderr
    )
    assert "No module named 'projmodels'" in done.stderr
