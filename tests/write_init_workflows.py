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
    git(root, "init", "-q")
    example.dvc(root, "init", "-q")
    run_init(ref=None, force=True, dry_run=False, start=root)


if __name__ == "__main__":
    main(sys.argv[1])
