"""`mlci demo`: the whole loop on the bundled example, offline."""

from __future__ import annotations

from pathlib import Path

import click

from mlci.cli.options import debug_option


@click.command()
@debug_option
@click.argument("directory", default="mlci-demo", type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path) -> int:
    """Run the whole loop offline on a bundled example (train, report, deploy, monitor, retrain)."""
    from mlci.cli.app import run as run_cli
    from mlci.commands.demo import DemoOptions, run

    # Each step runs in this process, as `mlci` would in a workflow step, through the same funnel.
    return run(None, DemoOptions(directory=directory, run_cli=run_cli))
