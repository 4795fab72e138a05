"""`mlci report --post BUNDLE`: the fork-safe second half of a PR report (report-post.yml).

Runs on `workflow_run` with a write token and no checkout of the PR's code: it reads only the bundle
the PR's run uploaded, checks it belongs to the run that triggered this one, and posts it.
"""

from __future__ import annotations

from pathlib import Path

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.github.comments import report_marker, upsert
from mlci.report.fork import load_bundle


def post_context() -> RunContext:
    """The run's context; the post job has no checkout, so outside a git repository the defaults."""
    from mlci.config import Config
    from mlci.github.actions import Actions, Runtime
    from mlci.repo.git import GitError

    try:
        return RunContext.load()
    except GitError:
        runtime = Runtime.from_env()
        actions = Actions(runtime)
        actions.mask(runtime.token)
        return RunContext(root=Path.cwd(), config=Config(), runtime=runtime, actions=actions)


def post_bundle(ctx: RunContext, path: Path | str) -> str:
    """Post (or edit) the sticky comment from a bundle; returns what happened."""
    item = load_bundle(path)
    client = ctx.github()
    expected = _run_head_sha(ctx)
    if expected:
        if item.head_sha != expected:
            raise MlciError(
                f"the report is about commit {item.head_sha[:7]} but the triggering run built {expected[:7]}",
                "post only artifacts of the run that triggered this workflow_run",
            )
        pr_head = str(client.get_pull(item.pr_number).get("head", {}).get("sha", ""))
        if pr_head and pr_head != expected:
            raise MlciError(
                f"PR #{item.pr_number}'s head is {pr_head[:7]}, not the commit this report is about "
                f"({expected[:7]}); refusing to post on another PR",
                "a newer push supersedes this report: its own run will post",
            )
    result = upsert(
        client, item.pr_number, item.body, report_marker(item.report_id), head_sha=expected or None
    )
    return f"report comment {result.action} on PR #{item.pr_number}: {result.url}"


def _run_head_sha(ctx: RunContext) -> str:
    run = ctx.runtime.event.get("workflow_run")
    if isinstance(run, dict):
        return str(run.get("head_sha") or "")
    return ""
