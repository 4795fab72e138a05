"""`mlci event`: which command this GitHub event runs (the action's `command: auto`)."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, output_format


@click.command()
@debug_option
@output_format("Output format.")
def event(fmt: str) -> int:
    """Print the command the current GitHub event maps to (push→train/deploy, PR→report, ...)."""
    from mlci.commands.context import RunContext
    from mlci.commands.event import EventOptions, run

    return run(RunContext.load(), EventOptions(format=fmt))
