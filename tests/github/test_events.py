"""One event, one command, on real webhook payloads."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mlci.errors import MlciError
from mlci.github.events import command_for_event
from tests.testing.fixtures import actions_env, load_event, read_outputs, run_cli


def test_pull_request_events_run_the_report() -> None:
    for action in ("opened", "synchronize"):
        payload = load_event(f"pull_request/{action}")
        assert command_for_event("pull_request", payload, "master") == "report"


def test_push_to_the_default_branch_deploys_elsewhere_trains() -> None:
    payload = copy.deepcopy(load_event("push/new-default-branch"))
    default = payload["repository"]["default_branch"]
    assert payload["ref"] == f"refs/heads/{default}"
    assert command_for_event("push", payload, default) == "deploy"
    assert command_for_event("push", payload, "") == "deploy"  # default branch read from the payload
    payload["ref"] = "refs/heads/feature/better-model"
    assert command_for_event("push", payload, default) == "train"


def test_deleted_tag_push_is_explained() -> None:
    with pytest.raises(MlciError, match="deleted a branch or pushed a tag"):
        command_for_event("push", load_event("push/tag"), "main")


def test_schedule_and_dispatch_monitor() -> None:
    assert command_for_event("schedule", {"schedule": "0 6 * * *"}) == "monitor"
    assert command_for_event("workflow_dispatch", load_event("workflow_dispatch/default-branch")) == "monitor"


def test_unknown_event_names_the_fix() -> None:
    with pytest.raises(MlciError) as info:
        command_for_event("issues", {})
    assert "'issues' event" in info.value.message and "command" in str(info.value.hint)


def test_mlci_event_as_a_workflow_step(tmp_path: Path) -> None:
    from mlci.repo.git import git

    git(tmp_path, "init", "-q")
    env = actions_env(tmp_path / "gha", "pull_request", load_event("pull_request/synchronize"))
    proc = run_cli("event", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "report"
    assert read_outputs(tmp_path / "gha" / "output")["command"] == "report"


def test_a_merge_queue_group_runs_the_report_against_its_base(tmp_path: Path) -> None:
    from mlci.github.actions import Runtime

    payload = load_event("merge_group/checks_requested")
    assert command_for_event("merge_group", payload, "main") == "report"
    env = actions_env(tmp_path / "gha", "merge_group", payload, GITHUB_SHA="0" * 40)
    runtime = Runtime.from_env(env)
    group = payload["merge_group"]
    assert runtime.base_sha == group["base_sha"] and runtime.head_sha == group["head_sha"]
    assert runtime.base_ref == "main" and runtime.head_ref.startswith("gh-readonly-queue/main/")
    assert runtime.pr_number is None  # nothing to comment on: the check run is the verdict
