"""Build the fixture project the dogfood workflow runs the action on: `python tests/testing/projects.py DIR`.

The example project, trained on `main`, plus a branch `more-trees` with a changed param and its results:
what a user's repository looks like when a pull request arrives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from mlci.onboarding import example
from mlci.repo.git import git


def build(dest: Path) -> Path:
    root = dest / "project"
    root.mkdir(parents=True)
    example.write_project(root)
    example.init_repo(root, dest / "dvc-remote", dest / "origin.git")
    example.train_and_publish(root, "Train the model")
    git(root, "checkout", "-q", "-b", "more-trees")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["n_estimators"] = 80
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    example.train_and_publish(root, "Use 80 trees")
    return root


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
