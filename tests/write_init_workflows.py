"""Write what `mlci init` writes for the example project into DIR (for .ci/run's workflow checks), and
docs/action.md's workflow for every event beside it as `mlci-action.yml` (the scenarios run it)."""

from __future__ import annotations

import re
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
    doc = (Path(__file__).resolve().parents[1] / "docs" / "action.md").read_text()
    block = re.search(r"<!-- mlci:action-workflow -->\n```yaml\n(.*?)```", doc, re.S)
    if block is None:
        sys.exit("docs/action.md lost its marked workflow (<!-- mlci:action-workflow -->)")
    workflow = block.group(1).replace("OWNER/mlci@<full SHA>", f"mlci-dev/mlci@{head}")
    (root / ".github" / "workflows" / "mlci-action.yml").write_text(workflow)


if __name__ == "__main__":
    main(sys.argv[1])
