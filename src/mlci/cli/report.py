"""`mlci report`: the PR report (click only; the work is in mlci.commands.report)."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, report_format


@click.command()
@debug_option
@click.option(
    "--base", default=None, help="Base revision. Default: the PR's base commit, locally the default branch."
)
@click.option(
    "--head", default=None, help="Head revision. Default: the PR's head commit, locally the workspace."
)
@report_format("Report format for stdout / --output (JSON schema: docs/report.md).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the report here, not to stdout.",
)
@click.option("--no-comment", is_flag=True, help="Do not post the sticky PR comment.")
@click.option(
    "--post",
    "post",
    type=click.Path(),
    default=None,
    help="Fork-safe second half: only post the comment bundle FILE (<id>.comment.json) a PR run uploaded, "
    "or the bundles of the downloaded artifact FOLDER (capped at what report.yml produces: one).",
)
def report(
    base: str | None, head: str | None, fmt: str, output: str | None, no_comment: bool, post: str | None
) -> int:
    """Compare metrics, params, data and plots of head vs base; check the gates; comment on the PR.

    Exit codes: 0 report written (gates passed or none), 1 a gate failed, 2 input/config error.
    """
    if post:
        from mlci.commands import fork_post

        return fork_post.run(fork_post.post_context(), fork_post.PostOptions(bundle=post))
    from mlci.gcpause import gc_paused

    with gc_paused():  # start-up: imports and config, no garbage to collect
        from mlci.commands.context import RunContext
        from mlci.commands.report import ReportOptions, run

        ctx = RunContext.load()

    options = ReportOptions(
        base=base,
        head=head,
        format="json" if fmt == "json" else "markdown",
        output=output,
        comment=not no_comment,
    )
    return run(ctx, options)
