"""`mlci event`: which command this GitHub event runs (the action's `command: auto`)."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, output_format


@click.command()
@debug_option
@output_format("Output format.")
def event(fmt: str) -> None:
    """Print the command the current GitHub event maps to (push→train/deploy, PR→report, ...)."""
    import json

    from mlci.commands.context import RunContext
    from mlci.github.events import command_for_event
    from mlci.repo.git import default_branch

    ctx = RunContext.load()
    runtime = ctx.runtime
    branch = runtime.default_branch or default_branch(ctx.root)
    command = command_for_event(runtime.event_name, runtime.event, branch)
    ctx.actions.set_output("command", command)
    if fmt == "json":
        click.echo(json.dumps({"event": runtime.event_name, "command": command, "default_branch": branch}))
    else:
        click.echo(command)
