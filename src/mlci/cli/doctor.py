"""`mlci doctor`: the project's DVC remotes, their plugins and credentials, and the fix for each gap."""

from __future__ import annotations

import click

from mlci.cli.options import debug_option, output_format


@click.command()
@click.option(
    "--plugins",
    "plugins_only",
    is_flag=True,
    help="Print only the pip requirements of the DVC plugins the remotes need, one per line.",
)
@output_format("Output format.")
@debug_option
def doctor(plugins_only: bool, fmt: str) -> int:
    """Check the DVC remotes: URL scheme, plugin installed, credentials present (names only).

    Exit 1 when a remote mlci uses (the default, or train.remote) lacks its plugin; credentials that
    cannot be seen (an instance role, OIDC, a profile file) are a warning.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.doctor import DoctorOptions, run

    return run(RunContext.load(), DoctorOptions(plugins_only=plugins_only, format=fmt))
