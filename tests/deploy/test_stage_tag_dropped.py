"""The stage-tag push fails after delivery: the model is live, so the message says what is live and that
a rerun finishes the job (not a permissions hint); the rerun records the stage."""

from __future__ import annotations

import stat

from mlci.repo.git import git
from tests.testing.fixtures import ExampleRepo, run_cli

HOOK = """#!/bin/sh
# refuse stage tags (NAME#STAGE#N) only: the version tag goes through, the stage tag's push fails
while read old new ref; do
  case "$ref" in *"#prod#"*) echo "connection reset while receiving $ref" >&2; exit 1;; esac
done
exit 0
"""


def test_a_dropped_stage_tag_push_says_the_model_is_live_and_a_rerun_finishes(
    example_repo: ExampleRepo,
) -> None:
    hook = example_repo.origin / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)

    proc = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "was delivered and is live" in proc.stderr and "run the job again" in proc.stderr, proc.stderr
    assert "contents: write" not in proc.stderr, proc.stderr
    current = example_repo.root / ".mlci" / "deployments" / "classifier" / "current"
    assert current.exists()  # delivered: live
    tags = git(example_repo.origin, "tag", "--list")
    assert "classifier@v" in tags and "#prod#" not in tags, tags

    hook.unlink()
    again = run_cli("deploy", "classifier", cwd=example_repo.root)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "classifier#prod#" in git(example_repo.origin, "tag", "--list")
