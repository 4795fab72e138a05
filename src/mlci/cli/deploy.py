"""`mlci deploy`, `mlci promote`, `mlci rollback` and `mlci registry`: click options into each command's options."""

from __future__ import annotations

from typing import Any

import click

from mlci.cli.options import debug_option

BUMPS = click.Choice(["major", "minor", "patch"])


@click.command()
@debug_option
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--stage", default=None, help="Stage to assign (default: the first of deploy.stages, else deploy.stage)."
)
@click.option("--target", "target", default=None, help="Target from deploy.targets (default: deploy.target).")
@click.option(
    "--environment", default=None, help="GitHub Deployment environment (default: deploy.environment)."
)
@click.option("--bump", type=BUMPS, default=None, help="Version part to bump (default: deploy.bump, patch).")
def deploy(
    names: tuple[str, ...], stage: str | None, target: str | None, environment: str | None, bump: Any
) -> int:
    """Deploy the checked-out commit: gates, version tag, target, stage tag, GitHub Deployment.

    NAME defaults to every model in mlci.yaml. Run it on a push to the default branch.
    """
    from mlci.commands.context import RunContext
    from mlci.commands.deploy import DeployOptions, run

    options = DeployOptions(names=names, stage=stage, target=target, bump=bump, environment=environment)
    return run(RunContext.load(), options)


@click.command()
@debug_option
@click.argument("name", default="")
@click.option(
    "--to", "to", default="", help="Version to go back to (default: the previous one in the stage)."
)
@click.option("--stage", default=None, help="Stage to roll back (default: deploy.stage).")
@click.option("--target", "target", default=None, help="Target from deploy.targets (default: deploy.target).")
@click.option(
    "--environment", default=None, help="GitHub Deployment environment (default: deploy.environment)."
)
def rollback(name: str, to: str, stage: str | None, target: str | None, environment: str | None) -> int:
    """Put an earlier version of NAME back in the stage and deliver it again (NAME: the only model in
    mlci.yaml when omitted)."""
    from mlci.commands.context import RunContext
    from mlci.commands.rollback import RollbackOptions, run

    options = RollbackOptions(name=name, to=to, stage=stage, target=target, environment=environment)
    return run(RunContext.load(), options)


@click.command()
@debug_option
@click.argument("name", default="")
@click.option("--to", "to", default="", help="Stage to promote to (default: the second of deploy.stages).")
@click.option(
    "--version", "version", default="", help="Version to promote (default: the one in the stage before)."
)
@click.option("--target", "target", default=None, help="Target from deploy.targets (default: the stage's).")
@click.option("--environment", default=None, help="GitHub Deployment environment (default: the stage's).")
def promote(name: str, to: str, version: str, target: str | None, environment: str | None) -> int:
    """Promote NAME to the next stage of the promotion path, check it there, assign it (NAME: the only
    model in mlci.yaml when omitted). Refused unless the version held the stage before and passed its check."""
    from mlci.commands.context import RunContext
    from mlci.commands.promote import PromoteOptions, run

    options = PromoteOptions(name=name, to=to, version=version, target=target, environment=environment)
    return run(RunContext.load(), options)


@click.command()
@debug_option
@click.argument("name", default="")
@click.option("--stage", default="", help="Only the models in this stage (JSON: a strategy.matrix list).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--fetch", is_flag=True, help="Fetch the remote's tags first (always done in a shallow clone).")
@click.option(
    "--history",
    is_flag=True,
    help="Every event of NAME: delivered, checked, promoted, rolled back, by which run.",
)
def registry(name: str, stage: str, fmt: Any, fetch: bool, history: bool) -> int:
    """Show the model registry: versions, stages, commits and dates (GTO's git tags)."""
    from mlci.commands.context import RunContext
    from mlci.commands.registry import RegistryOptions, run

    options = RegistryOptions(name=name, stage=stage, format=fmt, fetch=fetch, history=history)
    return run(RunContext.load(), options)
