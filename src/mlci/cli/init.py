"""`mlci init`: set a DVC repository up for mlci."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option


@click.command()
@debug_option
@click.option(
    "--ref",
    default=None,
    help="Pin the workflows to this mlci commit SHA (default: the installed version's).",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be written (a diff against existing files); write nothing.",
)
def init(ref: str | None, force: bool, dry_run: bool) -> int:
    """Write mlci.yaml and the GitHub workflows into an existing DVC repository."""
    from mlci.commands.init import InitOptions, run

    return run(None, InitOptions(ref=ref, force=force, dry_run=dry_run))
