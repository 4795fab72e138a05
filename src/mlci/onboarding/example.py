"""The bundled example project: a real scikit-learn model in a 3-stage DVC pipeline.

`mlci demo` runs the whole loop on it, and the test suite builds its repositories from it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mlci.render import templates_dir
from mlci.repo.dvc import dvc
from mlci.repo.git import git

FEATURES = 10  # the ten "mean ..." measurements of the breast-cancer data set


def write_project(dest: Path) -> None:
    """Copy the example's files into `dest` and write its raw data set."""
    source = templates_dir() / "example"
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(source)
            target = dest / (".gitignore" if relative.name == "gitignore" else relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    (dest / "data").mkdir(parents=True, exist_ok=True)
    raw_frame().to_csv(dest / "data" / "raw.csv", index=False)


def raw_frame() -> Any:
    """The data set that ships with scikit-learn, with tidy names and one categorical column."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.iloc[:, :FEATURES].copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["size_band"] = pd.cut(
        frame["mean_radius"], bins=[0, 12, 16, 100], labels=["small", "medium", "large"]
    ).astype(str)
    frame["target"] = bunch.frame["target"]
    return frame


def init_repo(root: Path, remote_dir: Path, origin_dir: Path, branch: str = "main") -> None:
    """git + DVC around the example: a local-directory DVC remote and a bare `origin`."""
    remote_dir.mkdir(parents=True, exist_ok=True)
    git(root.parent, "init", "-q", "--bare", "-b", branch, str(origin_dir))
    git(root, "init", "-q", "-b", branch)
    git(root, "remote", "add", "origin", str(origin_dir))
    dvc(root, "init", "-q")
    dvc(root, "config", "core.autostage", "true")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "-d", "storage", str(remote_dir))
    dvc(root, "add", "-q", "data/raw.csv")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Example project: data, pipeline and params")


def train_and_publish(root: Path, message: str = "Train the model") -> None:
    """Reproduce the pipeline, commit the results, push data and code."""
    dvc(root, "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    dvc(root, "push", "-q", "--run-cache")
    git(root, "push", "-q", "-u", "origin", "HEAD")
