"""`mlci report --post BUNDLE`: the fork-safe second half of a PR report (report-post.yml).

Runs on `workflow_run` with a write token and no checkout of the PR's code: it reads only the bundle
the PR's run uploaded, checks it belongs to the run that triggered this one, and posts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.github.comments import report_marker, upsert
from mlci.report.fork import load_bundle, pull_for_run, run_head
from mlci.safety import one_line


@dataclass(frozen=True)
class PostOptions:
    """`mlci report --post BUNDLE`: the `<id>.comment.json` a PR's run uploaded, or the artifact's folder."""

    bundle: str


def run(ctx: RunContext, options: PostOptions) -> int:
    """Post the bundle's comment; says what happened on stderr; 0, or MlciError (exit 2)."""
    for line in post_folder(ctx, options.bundle):
        click.echo(line, err=True)
    return 0


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
    """Post (or edit) the sticky comment from a bundle; returns what happened.

    The PR is the one open pull request whose head repository, branch and commit are those of the
    `workflow_run` that triggered this run; the bundle's PR number must be that PR's.
    """
    item = load_bundle(path)
    run = run_head(ctx.runtime.event)
    if item.head_sha != run.sha:
        raise MlciError(
            f"the report is about commit {item.head_sha[:7]} but the triggering run built {run.sha[:7]}",
            "post only artifacts of the run that triggered this workflow_run",
        )
    client = ctx.github()
    pulls = client.list_pulls(head=f"{run.owner}:{run.branch}", state="open")
    number = pull_for_run(pulls, run, item.pr_number)
    result = upsert(client, number, item.body, report_marker(item.report_id), head_sha=run.sha)
    return f"report comment {result.action} on PR #{number}: {result.url}"


MAX_BUNDLES = 1  # report.yml runs `mlci report` once per run: its artifact holds one comment bundle


def post_folder(ctx: RunContext, path: Path | str) -> list[str]:
    """Post the bundle FILE, or the bundles (`*.comment.json`) of an artifact FOLDER, capped at
    MAX_BUNDLES: more than the workflow can produce is a forged artifact, and each extra bundle would be
    one more comment and five more API calls on the PR. The dropped ones are named in a warning.
    Returns a line per outcome; a folder without bundles is an MlciError (exit 2)."""
    folder = Path(path)
    if not folder.is_dir():
        return [post_bundle(ctx, folder)]
    found = sorted(folder.glob("*.comment.json"))
    if not found:
        raise MlciError(
            f"{one_line(folder)} holds no report comment bundle (*.comment.json)",
            "download the artifact report.yml uploaded (it holds one when the run was a pull request's)",
        )
    kept, dropped = found[:MAX_BUNDLES], found[MAX_BUNDLES:]
    lines = [post_bundle(ctx, bundle) for bundle in kept]
    if dropped:
        names = ", ".join(one_line(p.name, 80) for p in dropped[:5]) + (" …" if len(dropped) > 5 else "")
        note = (
            f"{len(dropped)} more report bundle(s) in the artifact were not posted ({names}): report.yml "
            f"produces {MAX_BUNDLES} per run, so the rest are not the workflow's"
        )
        ctx.actions.annotate("warning", note, title="mlci report --post")
        lines.append(f"warning: {note}")
    return lines
