"""One event, one command: the pure mapping behind `command: auto`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlci.errors import MlciError

AUTO_COMMANDS = ("train", "report", "deploy", "monitor")


def command_for_event(event_name: str, payload: Mapping[str, Any], default_branch: str = "") -> str:
    """The mlci command a workflow should run for this event.

    push to the default branch → deploy; push elsewhere → train; pull_request and merge_group (a
    merge queue's check, against `merge_group.base_sha`) → report; schedule / workflow_dispatch → monitor.
    """
    if event_name in ("pull_request", "pull_request_target", "workflow_run", "merge_group"):
        return "report"
    if event_name == "push":
        branch = str(payload.get("ref", "")).removeprefix("refs/heads/")
        default = default_branch or _default_branch(payload)
        if str(payload.get("ref", "")).startswith("refs/tags/") or payload.get("deleted"):
            raise MlciError(
                "this push deleted a branch or pushed a tag; there is nothing to train or deploy",
                "limit the workflow with `on: push: branches: [...]`",
            )
        return "deploy" if default and branch == default else "train"
    if event_name in ("schedule", "workflow_dispatch"):
        return "monitor"
    raise MlciError(
        f"command 'auto' has no command for the '{event_name or 'unknown'}' event",
        "set the action's `command` input (train, report, deploy, monitor, retrain)",
    )


def _default_branch(payload: Mapping[str, Any]) -> str:
    repo = payload.get("repository")
    if not isinstance(repo, Mapping):
        return ""
    # push payloads carry both; master_branch is the older name
    return str(repo.get("default_branch") or repo.get("master_branch") or "")
