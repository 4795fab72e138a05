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
@click.option(
    "--requirements",
    metavar="FILE",
    default=None,
    help="The project's requirements file to check (default: the one `mlci init` wires in).",
)
@click.option(
    "--python-version",
    metavar="X.Y",
    default=None,
    help="The Python the jobs use, to resolve the requirements for (default: this one).",
)
@output_format("Output format.")
@debug_option
def doctor(plugins_only: bool, requirements: str | None, python_version: str | None, fmt: str) -> int:
    """Check the DVC remotes (URL scheme, plugin installed, credentials present: names only) and the
    project's requirements (read as pip reads them, resolved alone as the jobs will).

    Exit 1 when a remote mlci uses (the default, or train.remote) lacks its plugin, or when the
    requirements do not resolve; credentials that cannot be seen (an instance role, OIDC, a profile
    file) are a warning.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.doctor import DoctorOptions, run

    options = DoctorOptions(
        plugins_only=plugins_only, format=fmt, requirements=requirements, python_version=python_version
    )
    return run(RunContext.load(), options)
