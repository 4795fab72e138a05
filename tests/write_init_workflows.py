"""Write what `mlci init` writes for the example project into DIR (for .ci/run's workflow checks)."""

from __future__ import annotations

import sys
from pathlib import Path

from mlci.commands.init import run_init
from mlci.onboarding import example
from mlci.repo.git import git


def main(dest: str) -> None:
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    example.write_project(root)
    (root / "requirements.txt").write_text("scikit-learn\n")  # so the `requirements:` input is checked too
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    # cloud remotes, so the callers pass the secrets they need (the linters check those lines too)
    example.dvc(root, "remote", "add", "-d", "storage", "s3://mlci-example/dvc")
    example.dvc(root, "remote", "add", "--local", "backup", "azure://mlci-example/dvc")
    # the lint needs a well-formed pin, not a pushed one: this checkout's HEAD
    head = git(Path(__file__).resolve().parents[1], "rev-parse", "HEAD")
    run_init(ref=head, force=True, dry_run=False, start=root)


if __name__ == "__main__":
    main(sys.argv[1])
