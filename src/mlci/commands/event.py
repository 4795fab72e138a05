"""`mlci event`: which command this GitHub event runs (the action's `command: auto`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from mlci.commands.context import RunContext
from mlci.github.events import command_for_event
from mlci.repo.git import default_branch


@dataclass(frozen=True)
class EventOptions:
    """`mlci event [--format text|json]`."""

    format: str = "text"


def run(ctx: RunContext, options: EventOptions) -> int:
    """Print the command the event maps to (and set the `command` output); 0."""
    runtime = ctx.runtime
    branch = runtime.default_branch or default_branch(ctx.root)
    command = command_for_event(runtime.event_name, runtime.event, branch)
    ctx.actions.set_output("command", command)
    if options.format == "json":
        click.echo(json.dumps({"event": runtime.event_name, "command": command, "default_branch": branch}))
    else:
        click.echo(command)
    return 0
