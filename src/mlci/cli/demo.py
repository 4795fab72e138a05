"""`mlci demo`: the whole loop on the bundled example, offline."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", default="mlci-demo", type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path) -> None:
    """Run the whole loop offline on a bundled example (train, report, deploy, monitor, retrain)."""
    from mlci.commands.demo import run_demo

    run_demo(directory)
